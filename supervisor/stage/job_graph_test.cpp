#include "supervisor/stage/job_graph.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

using Status = JobGraph::Status;
using Indexes = std::vector<std::size_t>;

// fetch → verify → resolve, plus two independent downloads.
JobGraph pipeline() {
  JobGraph graph;
  graph.add("fetch", {});
  graph.add("verify", {"fetch"});
  graph.add("resolve", {"verify"});
  graph.add("download-1", {});
  graph.add("download-2", {});
  return graph;
}

TEST(JobGraph, StartsAJobOnlyAfterEveryJobItComesAfterSucceeded) {
  JobGraph graph;
  graph.add("a", {});
  graph.add("b", {});
  graph.add("c", {"a", "b"});
  EXPECT_EQ(graph.take_ready(8), (Indexes{0, 1}));
  graph.succeeded(0);
  EXPECT_EQ(graph.take_ready(8), Indexes{});
  graph.succeeded(1);
  EXPECT_EQ(graph.take_ready(8), (Indexes{2}));
  graph.succeeded(2);
  EXPECT_TRUE(graph.settled());
}

TEST(JobGraph, KeepsAtMostTheLimitRunningInTheOrderAdded) {
  JobGraph graph = pipeline();
  EXPECT_EQ(graph.take_ready(2), (Indexes{0, 3}));
  EXPECT_EQ(graph.running(), 2u);
  EXPECT_EQ(graph.take_ready(2), Indexes{});
  graph.succeeded(3);
  EXPECT_EQ(graph.take_ready(2), (Indexes{4}));
  graph.succeeded(0);
  EXPECT_EQ(graph.take_ready(2), (Indexes{1}));
  EXPECT_EQ(graph.take_ready(2), Indexes{});
}

TEST(JobGraph, ALimitOfZeroStillRunsOneJob) {
  JobGraph graph = pipeline();
  EXPECT_EQ(graph.take_ready(0), (Indexes{0}));
}

TEST(JobGraph, FailureSkipsWaitingJobsAndNamesTheRunningOnesToCancel) {
  JobGraph graph = pipeline();
  EXPECT_EQ(graph.take_ready(2), (Indexes{0, 3}));
  EXPECT_EQ(graph.failed(0), (Indexes{3}));
  EXPECT_TRUE(graph.stopped());
  EXPECT_EQ(graph.status(1), Status::kSkipped);
  EXPECT_EQ(graph.status(2), Status::kSkipped);
  EXPECT_EQ(graph.status(4), Status::kSkipped);
  EXPECT_FALSE(graph.settled());  // download-1 still runs until cancelled
  EXPECT_EQ(graph.take_ready(2), Indexes{});
  graph.cancelled(3);
  EXPECT_EQ(graph.status(3), Status::kFailed);
  EXPECT_TRUE(graph.settled());
}

TEST(JobGraph, StopFromOutsideSkipsWaitingAndReturnsRunning) {
  JobGraph graph = pipeline();
  EXPECT_EQ(graph.take_ready(1), (Indexes{0}));
  EXPECT_EQ(graph.stop(), (Indexes{0}));
  for (std::size_t i = 1; i < graph.size(); ++i) EXPECT_EQ(graph.status(i), Status::kSkipped) << graph.name(i);
  graph.cancelled(0);
  EXPECT_TRUE(graph.settled());
}

TEST(JobGraph, SucceededJobsStaySucceededAfterALaterFailure) {
  JobGraph graph = pipeline();
  graph.take_ready(1);
  graph.succeeded(0);
  EXPECT_EQ(graph.take_ready(1), (Indexes{1}));
  EXPECT_EQ(graph.failed(1), Indexes{});
  EXPECT_EQ(graph.status(0), Status::kSucceeded);
  EXPECT_EQ(graph.status(2), Status::kSkipped);
  EXPECT_TRUE(graph.settled());
}

TEST(JobGraph, RejectsDuplicateNamesAndUnknownPredecessors) {
  JobGraph graph;
  graph.add("a", {});
  EXPECT_THROW(graph.add("a", {}), base::Error);
  EXPECT_THROW(graph.add("b", {"nope"}), base::Error);
}

TEST(JobGraph, FinishingAJobThatIsNotRunningIsABug) {
  JobGraph graph = pipeline();
  EXPECT_THROW(graph.succeeded(1), base::Error);
}

TEST(JobGraph, AnEmptyGraphIsSettled) { EXPECT_TRUE(JobGraph().settled()); }

}  // namespace
}  // namespace supervisor

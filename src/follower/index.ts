export { advanceCursor, checkContiguity, GENESIS_CURSOR, type ContiguityVerdict, type FollowerCursor, type LinkedEvent } from "./contiguity.js";
export { setPaused } from "./cursor-store.js";
export { isRetriable, startFollower, type Follower, type FollowerBatch, type FollowerContext, type FollowerDeps, type FollowerHandler, type FollowerOptions, type FollowerState } from "./follower.js";
export { readCommittedAfter } from "./log-reader.js";
export { readFollowerStatus, type FollowerStatus } from "./status.js";
export { createListeningWakeup, createLocalWakeup, createLogNotifier, LOG_CHANNEL, type LogWakeup } from "./wakeup.js";

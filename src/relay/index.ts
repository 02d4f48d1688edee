// The Kafka relay (a follower) and its port. The consumer helper's public entry is ./consumer/index.ts (`annal/kafka`).
export { isRetriableKafkaError, withKafkaRetry, type KafkaPort, type KafkaProducer, type KafkaRecord, type OutgoingRecord, type PartitionOffsets, type TopicDescription } from "./kafka-port.js";
export { createKafkajsPort, type KafkajsPortOptions } from "./kafkajs-adapter.js";
export { createMemoryKafka } from "./memory-kafka.js";
export { CONTROL_KEY, CONTROL_TYPE, HEADER, partitionFor, sequenceOf, type ControlValue } from "./record-format.js";
export { createRelayHandler, type RelayHandlerDeps, type RelayHandlerOptions } from "./relay-handler.js";
export { createRelayService, relayFollowerName, type RelayService, type RelayServiceDeps, type RelayServiceOptions } from "./relay-service.js";
export { ensureTopic, readTails, topicSettingProblems, TOPIC_CONFIGS, type PartitionTail } from "./topic.js";

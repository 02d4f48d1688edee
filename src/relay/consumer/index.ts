// `annal/kafka`: the consumer helper. It treats the Kafka topic as an untrusted mirror of
// the log and hands the application only verified events, in position order.
export { createHttpBackfill, type BackfillSource } from "./backfill.js";
export { decodeRecord, type DecodeContext, type DecodedRecord } from "./decode.js";
export {
  createVerifyingConsumer,
  parseConsumerCursor,
  type ConsumerCursor,
  type ConsumerSummary,
  type Incident,
  type IncidentKind,
  type KafkaTrust,
  type RunOptions,
  type SignatureCheck,
  type VerifiedBatch,
  type VerifyingConsumer,
  type VerifyingConsumerDeps,
  type VerifyingConsumerOptions,
} from "./verifying-consumer.js";
export { isRetriableKafkaError, withKafkaRetry, type KafkaPort, type KafkaRecord } from "../kafka-port.js";
export { createKafkajsPort, type KafkajsPortOptions } from "../kafkajs-adapter.js";
export { CONTROL_KEY, CONTROL_TYPE, HEADER, partitionFor, sequenceOf, type ControlValue } from "../record-format.js";
export { parseTrustedKey, type TrustedKey } from "../../verify/keys.js";
export { parseCosignerVerifierKey, type CosignerKey } from "../../verify/cosignature.js";

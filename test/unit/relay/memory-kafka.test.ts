import { createMemoryKafka, type KafkaPort } from "../../../src/relay/index.js";
import { describeKafkaPortContract } from "../../support/kafka-port-contract.js";

let memory: KafkaPort = createMemoryKafka();
let n = 0;
describeKafkaPortContract("in-memory fake", () => ({ port: () => memory, topic: () => `t-${++n}` }));
memory = createMemoryKafka();

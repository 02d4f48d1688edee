import { afterAll } from "vitest";
import { createKafkajsPort, type KafkaPort } from "../../src/relay/index.js";
import { describeKafkaPortContract } from "../support/kafka-port-contract.js";
import { kafkaBrokers, randomName } from "../support/services.js";

let port: KafkaPort | undefined;
const topics: string[] = [];
describeKafkaPortContract("kafkajs on the real broker", () => ({
  port: () => (port ??= createKafkajsPort({ brokers: kafkaBrokers(), clientId: "annal-port-contract" })),
  topic: () => {
    const topic = randomName("port-contract");
    topics.push(topic);
    return topic;
  },
}));
afterAll(async () => {
  for (const topic of topics) await port?.deleteTopic(topic).catch(() => undefined);
  await port?.close();
});

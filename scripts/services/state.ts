import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { RecordedProcess } from "./processes.js";

export const SERVICE_NAMES = ["postgres", "kafka", "minio", "vault"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface PostgresState {
  port: number;
  password: string;
  dataDir: string;
  process?: RecordedProcess;
}

export interface KafkaState {
  port: number;
  controllerPort: number;
  clusterId: string;
  process?: RecordedProcess;
}

export interface MinioState {
  port: number;
  accessKey: string;
  secretKey: string;
  process?: RecordedProcess;
}

export interface VaultState {
  port: number;
  rootToken: string;
  process?: RecordedProcess;
}

/**
 * One file per instance. Ports and credentials stay after `down` so a restart keeps the same
 * URLs and the data directories stay valid; `process` is present only while running.
 * Holds secrets: written 0600.
 */
export interface InstanceState {
  checkout: string;
  postgres?: PostgresState;
  kafka?: KafkaState;
  minio?: MinioState;
  vault?: VaultState;
}

export function readState(file: string, checkout: string): InstanceState {
  if (!existsSync(file)) return { checkout };
  try {
    return JSON.parse(readFileSync(file, "utf8")) as InstanceState;
  } catch (error) {
    throw new Error(`unreadable state file ${file} (${(error as Error).message}); remove it after stopping the pids it lists`, { cause: error });
  }
}

export function writeState(file: string, state: InstanceState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

import type { ProofReader } from "../api/context.js";
import type { CheckpointView, LedgerReader } from "../ledger/types.js";
import type { CosignatureStore } from "../store/postgres/cosignatures.js";

/**
 * Serves checkpoints with the witnesses' cosignature lines appended to the note, so a
 * client gets the log's signature and the witnesses' in one C2SP note. The JSON
 * `treeSize`/`rootHash` are unchanged; verifiers ignore signature lines they do not know.
 */
export function withCosignatures<R extends LedgerReader, P extends ProofReader>(reader: R, proofs: P, store: CosignatureStore): { reader: R; proofs: P } {
  const decorate = async (checkpoint: CheckpointView | undefined): Promise<CheckpointView | undefined> => {
    if (!checkpoint) return checkpoint;
    const lines = await store.linesFor(checkpoint.treeSize);
    return lines.length === 0 ? checkpoint : { ...checkpoint, note: checkpoint.note + lines.join("") };
  };
  return {
    reader: { ...reader, latestCheckpoint: async () => decorate(await reader.latestCheckpoint()) },
    proofs: {
      ...proofs,
      checkpointAt: async (treeSize: number) => decorate(await proofs.checkpointAt(treeSize)),
      listCheckpoints: async (fromTreeSize: number, limit: number) =>
        Promise.all((await proofs.listCheckpoints(fromTreeSize, limit)).map(async (checkpoint) => (await decorate(checkpoint))!)),
    },
  };
}

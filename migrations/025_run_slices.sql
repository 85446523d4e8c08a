-- A run delivered in slices (DELIVERY_MODE=local): the reader groups of the slice begun last, as a
-- JSON array of keys (see GROUP_KEY in src/digest/ledger-store.ts); NULL: every reader of the
-- cadence, as before. started_at stays the cut-off, now of that slice.
ALTER TABLE send_runs ADD COLUMN slice_groups TEXT;

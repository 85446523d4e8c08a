-- A run delivered in slices (DELIVERY_MODE=local): the reader groups of the slice begun last, as a
-- JSON array of keys (see GROUP_KEY in src/digest/ledger-store.ts); NULL: every reader of the
-- cadence, as before. started_at stays the cut-off, now of that slice.
ALTER TABLE send_runs ADD COLUMN slice_groups TEXT;
-- A slice's readers by group, in id order within each: a slice walks its own readers, not the
-- whole list (the claim and count statements of a slice in src/digest/ledger-store.ts). With
-- confirmed_at, bounding a claim's next ids reads this index alone.
CREATE INDEX subscribers_groups ON subscribers (status, cadence, timezone, delivery_hour, id, confirmed_at);

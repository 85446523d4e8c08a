-- A first delivery attempt gets its row when its outcome is known (one write per message instead
-- of a claim and an update). The run keeps a mark instead: every subscriber of the run up to
-- settled_through has a row, so a sender that dies leaves rowless claims only above it.
-- Runs from before this change wrote a row at claim time: all they enqueued has a row.
ALTER TABLE send_runs ADD COLUMN settled_through INTEGER NOT NULL DEFAULT 0;
UPDATE send_runs SET settled_through = enqueued_through;

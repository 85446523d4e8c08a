-- Deliveries are looked up by status only while they are open (pending or sending). Indexing only
-- those keeps the index as small as the work left, and a delivery that settles (sent, failed,
-- skipped) just leaves it instead of moving within it: one index write fewer per message.
DROP INDEX send_deliveries_status;
CREATE INDEX send_deliveries_open ON send_deliveries (run_id, status, subscriber_id) WHERE status IN ('pending', 'sending');

-- runs/create in one statement (issue 20: a batch of runs took nine round trips; it now writes the runs, their
-- tags, the experiments' update time and the audit events in one: server/tracking/run-create-batch.ts).
--
-- The audit chain's head read under the chain lock in one call. Both chain functions take the transaction-scoped
-- advisory lock that serialises writers of the chain (0x61756474 = "audt", server/audit/chain.ts) and then read
-- the last event's hash. They are VOLATILE plpgsql, so the read runs on a snapshot taken after the lock was
-- granted: it sees the events of the writer that held the lock before, even when the calling statement's own
-- snapshot is older.
CREATE FUNCTION "audit_chain_head"() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1635083380);
  RETURN (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1);
END $$;
--> statement-breakpoint
-- For a statement that chains its events onto a head it read earlier: takes the lock and fails the whole
-- statement (SQLSTATE CA001, nothing written) when another writer has extended the chain since. NULL: the
-- chain is empty.
CREATE FUNCTION "audit_chain_expect"(expected text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  head text;
BEGIN
  PERFORM pg_advisory_xact_lock(1635083380);
  head := (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1);
  IF head IS DISTINCT FROM expected THEN
    RAISE EXCEPTION 'the audit chain moved on: its head is no longer the one expected' USING ERRCODE = 'CA001';
  END IF;
  RETURN head;
END $$;
--> statement-breakpoint
-- Fails the calling statement (nothing written) with SQLSTATE `code` unless `ok`: a statement's own guard, such
-- as runs/create's check that every experiment it writes to is still active in the team the request was
-- authorised against.
CREATE FUNCTION "cairn_check"(ok boolean, code text, message text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION '%', message USING ERRCODE = code;
  END IF;
  RETURN true;
END $$;

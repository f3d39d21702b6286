-- The account summary (GET /me) asks for a person's latest acknowledgement: this index
-- answers it by a seek instead of sorting the person's acknowledgements each time.
CREATE INDEX policy_acknowledgements_latest ON policy_acknowledgements (person_id, acknowledged_at);

-- Events per UTC day and type, for auditors: SELECT * FROM pyevents.daily_event_counts;
-- security_barrier like every view auditors read (it shows no event content).
CREATE OR REPLACE VIEW pyevents.daily_event_counts WITH (security_barrier) AS
SELECT (e.timestamp AT TIME ZONE 'UTC')::date AS day,
       e.event_type,
       count(*) AS events
FROM pyevents.events AS e
GROUP BY 1, 2
ORDER BY 1, 2;
ALTER VIEW pyevents.daily_event_counts OWNER TO pyevents_owner;
COMMENT ON VIEW pyevents.daily_event_counts IS 'Number of events per day (UTC, by event timestamp) and event type.';

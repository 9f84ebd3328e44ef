"""Clip events: every change of a clip's status, progress or result takes the next number of one
sequence (Clip.event_seq) and is announced with NOTIFY clip_events, '<owner>:<clip>:<seq>', once
the transaction commits; a deleted clip is announced as '<owner>:<clip>:deleted'. Done by triggers,
so every path (workers, keepers, admin, the sweeper) announces without knowing it
(classify/events/)."""

from django.db import migrations, models

FORWARD = """
CREATE SEQUENCE classify_clip_event_seq;

CREATE FUNCTION classify_clip_event_number() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.progress IS DISTINCT FROM OLD.progress
       OR NEW.result_id IS DISTINCT FROM OLD.result_id THEN
        NEW.event_seq := nextval('classify_clip_event_seq');
    ELSE
        NEW.event_seq := OLD.event_seq;  -- the trigger owns the column: a stale save cannot move it
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION classify_clip_event_announce() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('clip_events', OLD.owner_id || ':' || OLD.id || ':deleted');
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.event_seq IS DISTINCT FROM OLD.event_seq THEN
        PERFORM pg_notify('clip_events', NEW.owner_id || ':' || NEW.id || ':' || NEW.event_seq);
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER classify_clip_event_number BEFORE INSERT OR UPDATE ON classify_clip
    FOR EACH ROW EXECUTE FUNCTION classify_clip_event_number();
CREATE TRIGGER classify_clip_event_announce AFTER INSERT OR UPDATE OR DELETE ON classify_clip
    FOR EACH ROW EXECUTE FUNCTION classify_clip_event_announce();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS classify_clip_event_announce ON classify_clip;
DROP TRIGGER IF EXISTS classify_clip_event_number ON classify_clip;
DROP FUNCTION IF EXISTS classify_clip_event_announce();
DROP FUNCTION IF EXISTS classify_clip_event_number();
DROP SEQUENCE IF EXISTS classify_clip_event_seq;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("classify", "0012_layered_answers"),
    ]

    operations = [
        migrations.AddField(
            model_name="clip",
            name="event_seq",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="clip",
            index=models.Index(fields=["owner", "event_seq"], name="clip_owner_events"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]

"""A flow's rows are written as the ORM's flush wrote them, by Core statements before the flush (idp.models)."""
import pytest
from sqlalchemy import delete, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from idp.extensions import db
from idp.models import Flow, Tenant, User


def _row(flow_id):
    return db.session.connection().execute(select(Flow.__table__).where(Flow.__table__.c.id == flow_id)).one()


def test_new_and_changed_flows_are_written_and_clean(app):
    with app.app_context():
        tenant = db.session.scalars(select(Tenant)).first()
        flow = Flow(browser_id="b1", tenant_id=tenant.id, client_id="app", params={"a": 1}, state={})
        db.session.add(flow)
        db.session.flush()
        assert inspect(flow).persistent and not db.session.dirty and not db.session.new
        row = _row(flow.id)
        assert (row.params, row.state, row.user_id, row.completed_at) == ({"a": 1}, {}, None, None)
        assert row.created_at == flow.created_at and row.updated_at == flow.updated_at

        created = flow.updated_at
        flow.set(kmsi=True)
        flow.completed_at = created
        db.session.flush()
        assert not db.session.dirty
        row = _row(flow.id)
        assert (row.state, row.completed_at) == ({"kmsi": True}, created)
        assert row.updated_at == flow.updated_at and row.updated_at >= created
        db.session.commit()
        assert db.session.get(Flow, flow.id).get("kmsi") is True


def test_a_new_flow_gets_the_defaults_the_flush_gave(app):
    with app.app_context():
        tenant = db.session.scalars(select(Tenant)).first()
        flow = Flow(browser_id="b4", tenant_id=tenant.id, params=None, email=None)
        db.session.add(flow)
        db.session.commit()
        row = _row(flow.id)
        # A JSON column set to None is JSON's null; one left unset, or another column set to None, its default.
        assert (row.params, row.state, row.email, row.client_id) == (None, {}, None, None)
        assert row.created_at is not None and (flow.params, flow.state) == (None, {})


def test_a_flow_with_a_user_not_written_yet_gets_its_user(app):
    with app.app_context():
        tenant = db.session.scalars(select(Tenant)).first()
        user = User(tenant_id=tenant.id, email="new.flow.user@example.fr", name="New")
        flow = Flow(browser_id="b2", tenant_id=tenant.id, client_id=None, params={}, state={})
        flow.user = user
        db.session.add_all([user, flow])
        db.session.commit()
        assert _row(flow.id).user_id == user.id is not None


def test_a_flow_deleted_meanwhile_fails_its_write_as_the_flush_did(app):
    with app.app_context():
        tenant = db.session.scalars(select(Tenant)).first()
        flow = Flow(browser_id="b3", tenant_id=tenant.id, client_id=None, params={}, state={})
        db.session.add(flow)
        db.session.commit()
        db.session.connection().execute(delete(Flow.__table__).where(Flow.__table__.c.id == flow.id))  # another request
        flow.set(step=1)
        with pytest.raises(StaleDataError):
            db.session.flush()
        db.session.rollback()

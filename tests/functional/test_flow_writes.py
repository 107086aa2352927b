"""A browser's row, its accounts and a flow's rows are written as the ORM's flush wrote them, by Core statements
before the flush (idp.models._write_core)."""
import pytest
from sqlalchemy import delete, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from idp.extensions import db
from idp.models import BrowserSession, Flow, SessionAccount, Tenant, User

from ..helpers import written_by_the_flush


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


def _account_row(account_id):
    table = SessionAccount.__table__
    return db.session.connection().execute(select(table).where(table.c.id == account_id)).one()


def test_a_browser_account_gets_its_id_and_defaults_and_its_changes_are_written(app):
    """Without the flush's unit of work: a sign-in writes its browser account by one INSERT, then one UPDATE."""
    with app.app_context():
        user = db.session.scalars(select(User)).first()
        browser = BrowserSession(id="browser-accounts")
        db.session.add(browser)
        db.session.flush()
        with written_by_the_flush("before_insert", "before_update") as writes:
            account = SessionAccount(browser_id=browser.id, user_id=user.id, amr=["pwd"])
            db.session.add(account)
            db.session.flush()
            assert account.id is not None and inspect(account).persistent and not db.session.new
            row = _account_row(account.id)
            assert (row.signed_in, row.kmsi, row.amr, row.mfa_at) == (True, False, ["pwd"], None)
            assert row.sid == account.sid and len(row.sid) == 36 and row.auth_time == account.auth_time
            account.kmsi = True
            account.amr = ["pwd", "mfa"]
            db.session.flush()
            assert not db.session.dirty
            row = _account_row(account.id)
            assert (row.kmsi, row.amr) == (True, ["pwd", "mfa"])
        assert writes == []  # neither went through the flush's unit of work
        db.session.commit()
        assert db.session.get(SessionAccount, account.id).kmsi is True


def test_an_account_whose_browser_is_not_written_yet_is_left_to_the_flush(app):
    with app.app_context():
        user = db.session.scalars(select(User)).first()
        account = SessionAccount(user_id=user.id)
        account.browser = BrowserSession(id="browser-later")
        db.session.add(account)
        db.session.commit()
        assert _account_row(account.id).browser_id == "browser-later"


def test_a_new_browser_is_written_by_core_with_its_accounts_known_empty(app):
    with app.app_context():
        with written_by_the_flush("before_insert") as writes:
            browser = BrowserSession(accounts=[])
            db.session.add(browser)
            db.session.flush()
        assert writes == [] and inspect(browser).persistent and not db.session.new
        assert "accounts" in inspect(browser).dict and browser.accounts == []  # no query for them
        table = BrowserSession.__table__
        row = db.session.connection().execute(select(table).where(table.c.id == browser.id)).one()
        assert row.created_at == browser.created_at is not None

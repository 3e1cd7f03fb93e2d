"""authsvc.store against migrated SQLite and PostgreSQL databases (see conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.acl import AclRule, RuleError
from authsvc.models import User
from authsvc.scope import Scope

Sessions = async_sessionmaker[AsyncSession]
UTC = dt.UTC


async def _user(sessions: Sessions, name: str = "alice") -> store.UserRecord:
    async with sessions() as session:
        user = await store.create_user(session, name, "hash-1")
        await session.commit()
    return user


async def _token(
    sessions: Sessions, user_id: int, token_hash: str, **kwargs: object
) -> store.RefreshTokenRecord:
    async with sessions() as session:
        record = await store.create_refresh_token(
            session,
            user_id=user_id,
            token_hash=token_hash,
            service=str(kwargs.get("service", "registry")),
            client_id=str(kwargs.get("client_id", "docker")),
            expires_at=dt.datetime(2100, 1, 1, tzinfo=UTC),
        )
        await session.commit()
    return record


async def test_create_and_get_user(sessionmaker: Sessions) -> None:
    created = await _user(sessionmaker, "ａｌｉｃｅ")  # full-width: normalised to "alice"
    assert created.name == "alice"
    assert created.created_at.tzinfo is UTC
    async with sessionmaker() as session:
        found = await store.get_user(session, "alice")
        assert await store.get_user(session, "bob") is None
        assert await store.count_users(session) == 1
        await store.ping(session)
    assert found == created
    assert found is not None and found.created_at.tzinfo is UTC
    assert not found.admin and not found.disabled and found.last_login_at is None
    assert "hash-1" not in repr(found)


async def test_duplicate_and_invalid_users(sessionmaker: Sessions) -> None:
    await _user(sessionmaker)
    async with sessionmaker() as session:
        with pytest.raises(store.Conflict, match="already exists"):
            await store.create_user(session, "alice", "h")
    async with sessionmaker() as session:
        with pytest.raises(ValueError, match="reserved"):
            await store.create_user(session, "@anonymous", "h")
        for missing in (
            store.set_password_hash(session, "bob", "h"),
            store.set_disabled(session, "bob", True),
            store.delete_user(session, "bob"),
            store.revoke_user_refresh_tokens(session, "bob"),
            store.list_refresh_tokens(session, "bob"),
        ):
            with pytest.raises(store.NotFound, match="unknown user 'bob'"):
                await missing


async def test_uncommitted_work_is_not_visible(sessionmaker: Sessions) -> None:
    async with sessionmaker() as writer:
        await store.create_user(writer, "alice", "h")
        async with sessionmaker() as reader:
            assert await store.get_user(reader, "alice") is None
        await writer.rollback()
    async with sessionmaker() as session:
        assert await store.count_users(session) == 0


async def test_password_change_disable_and_delete_revoke_tokens(sessionmaker: Sessions) -> None:
    alice = await _user(sessionmaker)
    bob = await _user(sessionmaker, "bob")
    await _token(sessionmaker, alice.id, "a" * 64)
    await _token(sessionmaker, alice.id, "b" * 64)
    await _token(sessionmaker, bob.id, "c" * 64)
    async with sessionmaker() as session:
        assert await store.set_password_hash(session, "alice", "hash-2") == 2
        assert await store.set_password_hash(session, "alice", "hash-3") == 0
        await session.commit()
    async with sessionmaker() as session:
        user = await store.get_user(session, "alice")
        assert user is not None and user.password_hash == "hash-3"
        assert user.updated_at >= alice.updated_at
        assert [t.revoked for t in await store.list_refresh_tokens(session, "alice")] == [True] * 2
        assert await store.set_disabled(session, "bob", True) == 1
        assert await store.set_disabled(session, "bob", False) == 0
        await session.commit()
    await _token(sessionmaker, bob.id, "d" * 64)
    async with sessionmaker() as session:
        assert await store.revoke_user_refresh_tokens(session, "bob") == 1
        await store.add_member(session, (await store.create_group(session, "devs")).name, "bob")
        await store.delete_user(session, "bob")
        await session.commit()
    async with sessionmaker() as session:
        assert await store.get_user(session, "bob") is None
        assert [t.subject for t in await store.list_refresh_tokens(session)] == ["alice"] * 2
        assert (await store.list_groups(session))[0].members == ()


async def test_record_login_and_guarded_rehash(sessionmaker: Sessions) -> None:
    alice = await _user(sessionmaker)
    when = dt.datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    async with sessionmaker() as session:
        await store.record_login(session, alice.id, when, None)
        await session.commit()
        user = await store.get_user(session, "alice")
    assert user is not None and user.password_hash == "hash-1"
    assert user.last_login_at == when and user.last_login_at.tzinfo is UTC
    async with sessionmaker() as session:
        # The stored hash changed meanwhile: the rehash of the old password must not win.
        await store.record_login(session, alice.id, when, "stale", expected_hash="other")
        await store.record_login(session, alice.id, when, "hash-2", expected_hash="hash-1")
        await session.commit()
        user = await store.get_user(session, "alice")
    assert user is not None and user.password_hash == "hash-2"


async def test_groups(sessionmaker: Sessions) -> None:
    alice = await _user(sessionmaker)
    await _user(sessionmaker, "bob")
    async with sessionmaker() as session:
        await store.create_group(session, "devs")
        await store.create_group(session, "ops")
        await store.add_member(session, "devs", "bob")
        await store.add_member(session, "devs", "alice")
        await store.add_member(session, "ops", "alice")
        await session.commit()
    async with sessionmaker() as session:
        assert await store.groups_of(session, alice.id) == frozenset({"devs", "ops"})
        listed = await store.list_groups(session)
        assert [(g.name, g.members) for g in listed] == [
            ("devs", ("alice", "bob")),
            ("ops", ("alice",)),
        ]
        with pytest.raises(store.Conflict, match="already a member"):
            await store.add_member(session, "devs", "bob")
    async with sessionmaker() as session:
        with pytest.raises(store.Conflict, match="already exists"):
            await store.create_group(session, "devs")
    async with sessionmaker() as session:
        with pytest.raises(store.NotFound, match="unknown group 'qa'"):
            await store.add_member(session, "qa", "bob")
        with pytest.raises(store.NotFound, match="unknown user 'carol'"):
            await store.add_member(session, "devs", "carol")
        with pytest.raises(store.NotFound, match="not a member"):
            await store.remove_member(session, "ops", "bob")
        await store.remove_member(session, "devs", "alice")
        await store.delete_group(session, "ops")
        await session.commit()
    async with sessionmaker() as session:
        assert await store.groups_of(session, alice.id) == frozenset()
        assert [(g.name, g.members) for g in await store.list_groups(session)] == [
            ("devs", ("bob",))
        ]
        with pytest.raises(store.NotFound):
            await store.delete_group(session, "ops")


async def test_rules_are_listed_in_priority_then_id_order(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        first = await store.add_rule(session, account="*", name="a", actions=["pull"])
        early = await store.add_rule(
            session, account="*", name="b", actions=[], effect="deny", priority=5
        )
        second = await store.add_rule(
            session,
            account="group:devs",
            name="${account}/*",
            type="repository",
            service="registry",
            actions=["pull", "push"],
            comment="devs",
        )
        await session.commit()
    assert first.id is not None and early.id is not None and second.id is not None
    assert first.created_at is not None and first.created_at.tzinfo is UTC
    async with sessionmaker() as session:
        rules = await store.list_rules(session)
    assert [r.id for r in rules] == [early.id, first.id, second.id]
    assert rules[2] == second
    assert rules[2].actions == ("pull", "push") and rules[2].comment == "devs"
    assert rules[0].effect == "deny" and rules[0].actions == ()


async def test_invalid_rule_is_not_stored(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        with pytest.raises(RuleError, match="invalid regex"):
            await store.add_rule(session, account="*", name="/[/", actions=["pull"])
        await session.commit()
        assert await store.list_rules(session) == []


async def test_delete_and_replace_rules(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        rule = await store.add_rule(session, account="alice", name="x", actions=["pull"])
        await session.commit()
    assert rule.id is not None
    async with sessionmaker() as session:
        assert await store.delete_rule(session, rule.id) == rule
        with pytest.raises(store.NotFound, match=f"unknown rule #{rule.id}"):
            await store.delete_rule(session, rule.id)
        await store.add_rule(session, account="alice", name="y", actions=["pull"])
        replaced = await store.replace_rules(
            session,
            [
                AclRule(account="bob", name="z", actions=("push",)),
                AclRule(account="carol", name="w", actions=("pull",)),
            ],
        )
        await session.commit()
        listed = await store.list_rules(session)
    assert listed == replaced
    assert [r.account for r in listed] == ["bob", "carol"]
    # Ids are never reused (`acl delete ID` must not hit a newer rule): SQLite AUTOINCREMENT.
    assert all(r.id is not None and r.id > rule.id + 1 for r in listed)


async def test_refresh_tokens(sessionmaker: Sessions) -> None:
    alice = await _user(sessionmaker)
    bob = await _user(sessionmaker, "bob")
    created = await _token(sessionmaker, alice.id, "f" * 64, client_id="skopeo")
    await _token(sessionmaker, bob.id, "e" * 64)
    assert created.subject == "alice" and created.last_used_at is None and not created.revoked
    assert "f" * 64 not in repr(created)
    async with sessionmaker() as session:
        found = await store.get_refresh_token_by_hash(session, "f" * 64)
        assert await store.get_refresh_token_by_hash(session, "0" * 64) is None
    assert found is not None
    token, user = found
    assert token == created and user == alice
    assert token.expires_at == dt.datetime(2100, 1, 1, tzinfo=UTC)

    when = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with sessionmaker() as session:
        await store.touch_refresh_token(session, created.id, when)
        revoked = await store.revoke_refresh_token(session, created.id)
        await session.commit()
    assert revoked.id == created.id
    async with sessionmaker() as session:
        (mine,) = await store.list_refresh_tokens(session, "alice")
        assert mine.last_used_at == when and mine.revoked
        assert [t.subject for t in await store.list_refresh_tokens(session)] == ["alice", "bob"]
        with pytest.raises(store.NotFound, match="unknown refresh token"):
            await store.revoke_refresh_token(session, 999)
        with pytest.raises(store.NotFound, match="unknown user id"):
            await store.create_refresh_token(
                session,
                user_id=999,
                token_hash="1" * 64,
                service="registry",
                client_id="x",
                expires_at=when,
            )
    async with sessionmaker() as session:
        with pytest.raises(store.Conflict):
            await store.create_refresh_token(
                session,
                user_id=bob.id,
                token_hash="e" * 64,
                service="registry",
                client_id="x",
                expires_at=when,
            )


async def test_naive_datetimes_are_refused(sessionmaker: Sessions) -> None:
    alice = await _user(sessionmaker)
    async with sessionmaker() as session:
        with pytest.raises(Exception, match="naive datetime"):
            await store.record_login(session, alice.id, dt.datetime(2030, 1, 1), None)


async def test_rules_from_the_store_evaluate(sessionmaker: Sessions) -> None:
    from authsvc.acl import evaluate

    async with sessionmaker() as session:
        await store.add_rule(session, account="alice", name="${account}/*", actions=["pull"])
        await session.commit()
        rules = await store.list_rules(session)
    decision = evaluate(
        rules,
        account="alice",
        groups=frozenset(),
        scope=Scope("repository", "alice/app", ("pull", "push")),
        service="registry",
    )
    assert decision.granted == ("pull",) and decision.rule == rules[0]


async def test_token_ttl_is_stored_and_kept_at_least_60(sessionmaker: Sessions) -> None:
    await _user(sessionmaker)
    async with sessionmaker() as session:
        robot = await store.insert_user(session, "robot$ci", "x", admin=False, token_ttl=120)
        await store.set_token_ttl(session, "alice", 60)
        with pytest.raises(ValueError, match="at least 60"):
            await store.set_token_ttl(session, "alice", 59)
        with pytest.raises(ValueError, match="at least 60"):
            await store.create_user(session, "bob", "h", token_ttl=10)
        with pytest.raises(store.NotFound):
            await store.set_token_ttl(session, "nobody", 300)
        await session.commit()
    assert robot.token_ttl == 120
    async with sessionmaker() as session:
        alice = await store.get_user(session, "alice")
        assert alice is not None and alice.token_ttl == 60
        await store.set_token_ttl(session, "alice", None)
        await session.commit()
    async with sessionmaker() as session:
        assert [(u.name, u.token_ttl) for u in await store.list_users(session)] == [
            ("alice", None),
            ("robot$ci", 120),
        ]
    # The database refuses a lifetime under 60 s even from a writer that skips the check.
    with pytest.raises(store.StoreError):
        async with store.transaction(sessionmaker) as raw:
            await raw.execute(update(User).values(token_ttl=5))


async def test_rule_windows_and_filtered_flag_round_trip(sessionmaker: Sessions) -> None:
    start = dt.datetime(2027, 1, 1, 9, tzinfo=UTC)
    end = dt.datetime(2027, 2, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    async with sessionmaker() as session:
        windowed = await store.add_rule(
            session, account="carol", name="team/*", actions=["pull"],
            valid_from=start, valid_until=end,
        )  # fmt: skip
        catalog = await store.add_rule(
            session, account="*", type="registry", name="catalog", actions=["*"], filtered=True
        )
        await session.commit()
    async with sessionmaker() as session:
        listed = await store.list_rules(session)
    assert listed == [windowed, catalog]
    assert listed[0].valid_from == start and listed[0].valid_until == end
    assert listed[0].valid_until is not None and listed[0].valid_until.tzinfo is UTC
    assert listed[1].filtered and not listed[0].filtered

"""Signing in and out, sessions, CSRF, throttling and password changes, through HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from yarl import URL

from core.models import LoginFailure, StaffRole, StaffSession, User
from tests.panel.conftest import PASSWORD, AddStaff, OpenPanel, Panel, csrf_in
from webapp.access import throttle
from webapp.access.guard import SESSION_COOKIE


async def test_sign_in_page_is_russian_by_default_and_english_on_request(panel: Panel) -> None:
    russian = await panel.client.get("/login")
    english = await panel.client.get("/login?lang=en")

    assert russian.status == 200
    assert '<html lang="ru">' in await russian.text()
    assert "Войти" in await russian.text()
    english_html = await english.text()
    assert '<html lang="en">' in english_html and "Sign in" in english_html
    assert panel.container.version in english_html


async def test_root_sends_the_signed_out_to_sign_in_and_the_signed_in_to_the_inbox(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    before = await panel.client.get("/", allow_redirects=False)
    await panel.sign_in("anna@desk.example")
    after = await panel.client.get("/", allow_redirects=False)

    assert before.headers["Location"] == "/login"
    assert after.headers["Location"] == "/inbox"


async def test_signing_in_sets_a_guarded_cookie_and_stores_only_the_token_hash(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    response = await panel.sign_in("ANNA@desk.example ", PASSWORD)

    assert response.status == 303
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] == ""  # plain http on loopback; https sets Secure
    async with panel.container.uow() as uow:
        hashes = list(await uow.session.scalars(sa.select(StaffSession.token_hash)))
    assert len(hashes) == 1 and cookie.value not in hashes[0]


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    guarded = await panel.client.get("/account/password?x=1", allow_redirects=False)
    assert guarded.status == 303
    location = URL(guarded.headers["Location"])
    assert (location.path, location.query["next"]) == ("/login", "/account/password?x=1")

    form = await panel.client.get(str(location))
    html = await form.text()
    assert 'name="next" value="/account/password?x=1"' in html
    good = await panel.client.post(
        "/login",
        data={"email": "anna@desk.example", "password": PASSWORD, "csrf_token": csrf_in(html),
              "next": "/account/password?x=1"},
        allow_redirects=False,
    )  # fmt: skip
    assert good.headers["Location"] == "/account/password?x=1"

    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        async with open_panel() as browser:
            form = await browser.client.get("/login")
            response = await browser.client.post(
                "/login",
                data={"email": "anna@desk.example", "password": PASSWORD,
                      "csrf_token": csrf_in(await form.text()), "next": evil},
                allow_redirects=False,
            )  # fmt: skip
        assert response.headers["Location"] == "/inbox", evil


async def test_a_next_hiding_a_second_slash_behind_a_tab_or_newline_stays_on_the_site(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    tricks = ("/\t/evil.example/phish", "/\n/evil.example/", "/\r\n/evil.example/",
              " //evil.example/", "\x00//evil.example/", "/\t\\evil.example",
              "/inbox\x00/x", "\t/inbox?x=1")  # fmt: skip
    locations = []
    for trick in tricks:
        async with open_panel() as browser:
            form = await browser.client.get("/login")
            response = await browser.client.post(
                "/login",
                data={"email": "anna@desk.example", "password": PASSWORD,
                      "csrf_token": csrf_in(await form.text()), "next": trick},
                allow_redirects=False,
            )  # fmt: skip
            locations.append(response.headers["Location"])

    async with open_panel() as signed_in:
        await signed_in.sign_in("anna@desk.example")
        again = await signed_in.client.get("/login?next=/inbox%01/x", allow_redirects=False)

    # U+0000 leaves every form (webapp/panel/inputs.py): what is left is a path on the site.
    assert locations == ["/inbox"] * 6 + ["/inbox/x", "/inbox?x=1"]
    assert again.headers["Location"] == "/inbox"


async def test_a_wrong_password_is_refused_in_russian_and_counted(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    response = await panel.sign_in("anna@desk.example", "not-the-password")

    assert response.status == 401
    assert "Неверный e-mail или пароль" in await response.text()
    assert SESSION_COOKIE not in response.cookies
    async with panel.container.uow() as uow:
        failures = list(await uow.session.scalars(sa.select(LoginFailure.email)))
    assert failures == ["anna@desk.example"]


async def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(panel: Panel) -> None:
    response = await panel.sign_in("nobody@desk.example", "whatever-it-is")

    assert response.status == 401
    assert "Неверный e-mail или пароль" in await response.text()


async def test_after_five_failures_the_account_is_locked_even_for_the_right_password(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await add_staff(StaffRole.OPERATOR, "oleg@desk.example")
    statuses = [
        (await panel.sign_in("anna@desk.example", f"guess-number-{n}")).status
        for n in range(throttle.MAX_PER_ACCOUNT)
    ]
    locked = await panel.sign_in("anna@desk.example", PASSWORD)
    other = await panel.sign_in("oleg@desk.example", PASSWORD)

    assert statuses == [401] * throttle.MAX_PER_ACCOUNT
    assert locked.status == 429
    assert "Слишком много неудачных попыток" in await locked.text()
    assert other.status == 303  # another account from the same address still signs in


async def test_one_address_guessing_many_accounts_is_stopped(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    for n in range(throttle.MAX_PER_ADDRESS):
        await panel.sign_in(f"guess{n}@desk.example", "whatever-it-is")

    response = await panel.sign_in("anna@desk.example", PASSWORD)

    assert response.status == 429


async def test_strangers_failing_behind_the_proxy_do_not_lock_out_the_owner(
    open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy by default, as nginx would.
    await add_staff(StaffRole.OWNER, "owner@desk.example")
    async with open_panel() as stranger, open_panel() as owner:
        stranger.client.session.headers["X-Forwarded-For"] = "203.0.113.9"
        owner.client.session.headers["X-Forwarded-For"] = "198.51.100.7"
        for n in range(throttle.MAX_PER_ADDRESS):
            await stranger.sign_in(f"made-up-{n}@desk.example", "whatever-it-is")
        blocked = await stranger.sign_in("owner@desk.example", PASSWORD)
        response = await owner.sign_in("owner@desk.example", PASSWORD)

    assert blocked.status == 429  # the stranger's own address is throttled
    assert response.status == 303
    async with owner.container.uow() as uow:
        addresses = set(await uow.session.scalars(sa.select(LoginFailure.address)))
        session_addresses = list(await uow.session.scalars(sa.select(StaffSession.address)))
    assert addresses == {"203.0.113.9"}
    assert session_addresses == ["198.51.100.7"]


async def test_a_browser_that_signed_in_before_gets_in_while_the_account_is_under_attack(
    open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "owner@desk.example")
    async with open_panel() as office, open_panel() as attacker, open_panel() as new_laptop:
        assert (await office.sign_in("owner@desk.example")).status == 303
        await office.post("/logout")
        for n in range(throttle.MAX_PER_ACCOUNT * 2):
            await attacker.sign_in("owner@desk.example", f"guess-number-{n}")

        from_office = await office.sign_in("owner@desk.example", PASSWORD)
        from_elsewhere = await new_laptop.sign_in("owner@desk.example", PASSWORD)
        await office.post("/logout")
        office_typos = [
            (await office.sign_in("owner@desk.example", f"typo-number-{n}")).status
            for n in range(throttle.MAX_PER_DEVICE + 1)
        ]

    assert from_office.status == 303
    assert from_elsewhere.status == 429  # a browser without the cookie: the account lock holds
    # The office browser's own failures still lock that browser.
    assert office_typos == [401] * throttle.MAX_PER_DEVICE + [429]


async def test_a_sign_in_posted_without_the_form_token_is_refused(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.client.get("/login")
    response = await panel.client.post(
        "/login",
        data={"email": "anna@desk.example", "password": PASSWORD, "csrf_token": "forged"},
        allow_redirects=False,
    )

    assert response.status == 400
    assert SESSION_COOKIE not in response.cookies


async def test_htmx_requests_of_the_signed_out_get_401_with_a_redirect(panel: Panel) -> None:
    response = await panel.client.get("/account/password", headers={"HX-Request": "true"})

    assert response.status == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


async def test_state_changes_need_the_session_csrf_token(panel: Panel, add_staff: AddStaff) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.sign_in("anna@desk.example")

    without = await panel.client.post("/logout", allow_redirects=False)
    wrong = await panel.client.post("/logout", data={"csrf_token": "x" * 43}, allow_redirects=False)
    header = await panel.client.post(
        "/account/language", data={"lang": "en"}, headers={"X-CSRF-Token": panel.csrf},
        allow_redirects=False,
    )  # fmt: skip

    assert (without.status, wrong.status) == (403, 403)
    assert header.status == 303
    still_in = await panel.client.get("/account/password", allow_redirects=False)
    assert still_in.status == 200


async def test_signing_out_ends_the_session_for_good(panel: Panel, add_staff: AddStaff) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.sign_in("anna@desk.example")
    token = panel.client.session.cookie_jar.filter_cookies(panel.client.make_url("/"))[
        SESSION_COOKIE
    ].value

    response = await panel.post("/logout")
    replay = await panel.client.get(
        "/account/password", cookies={SESSION_COOKIE: token}, allow_redirects=False
    )

    assert response.headers["Location"] == "/login"
    assert replay.status == 303 and replay.headers["Location"].startswith("/login")


async def test_a_password_change_signs_out_other_browsers_only(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    async with open_panel() as phone:
        await phone.sign_in("anna@desk.example")
        await panel.sign_in("anna@desk.example")

        wrong = await panel.post(
            "/account/password",
            {"current": "nope-nope-nope", "new": "new-password-42", "repeat": "new-password-42"},
        )
        short = await panel.post(
            "/account/password", {"current": PASSWORD, "new": "short", "repeat": "short"}
        )
        done = await panel.post(
            "/account/password",
            {"current": PASSWORD, "new": "new-password-42", "repeat": "new-password-42"},
        )
        phone_after = await phone.client.get("/account/password", allow_redirects=False)

    assert wrong.status == 400 and "Текущий пароль неверен" in await wrong.text()
    assert short.status == 400 and "не короче 10" in await short.text()
    assert done.status == 200 and "Пароль изменён" in await done.text()
    assert (await panel.client.get("/account/password")).status == 200
    assert phone_after.status == 303
    async with open_panel() as fresh:
        assert (await fresh.sign_in("anna@desk.example", PASSWORD)).status == 401
        assert (await fresh.sign_in("anna@desk.example", "new-password-42")).status == 303


async def test_a_temporary_password_must_be_changed_before_anything_else(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "owner@desk.example", temporary=True)
    response = await panel.sign_in("owner@desk.example")
    inbox = await panel.client.get("/inbox", allow_redirects=False)

    assert response.headers["Location"] == "/account/password"
    assert inbox.status == 303 and inbox.headers["Location"] == "/account/password"
    page = await (await panel.client.get("/account/password")).text()
    assert "временным паролем" in page


async def test_the_forced_change_refuses_the_temporary_and_common_passwords_then_opens_the_inbox(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "owner@desk.example", temporary=True)
    await panel.sign_in("owner@desk.example")
    forced_page = await (await panel.client.get("/account/password")).text()

    same = await panel.post(
        "/account/password", {"current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}
    )
    common = await panel.post(
        "/account/password", {"current": PASSWORD, "new": "1234567890", "repeat": "1234567890"}
    )
    run = await panel.post(
        "/account/password", {"current": PASSWORD, "new": "a" * 12, "repeat": "a" * 12}
    )
    done = await panel.post(
        "/account/password",
        {"current": PASSWORD, "new": "my-own-secret-42", "repeat": "my-own-secret-42"},
    )
    inbox = await panel.client.get("/inbox", allow_redirects=False)

    assert "data-live" not in forced_page  # no socket the guard would refuse
    assert same.status == 400 and "должен отличаться от текущего" in await same.text()
    assert common.status == 400 and "подбирают первым делом" in await common.text()
    assert run.status == 400 and "подбирают первым делом" in await run.text()
    assert (done.status, done.headers["Location"]) == (303, "/inbox")
    assert inbox.status == 200 and 'data-live="/ws"' in await inbox.text()


async def test_a_deactivated_user_is_signed_out(panel: Panel, add_staff: AddStaff) -> None:
    user_id = await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.sign_in("anna@desk.example")
    async with panel.container.uow() as uow:
        user = await uow.session.get(User, user_id)
        assert user is not None
        user.is_active = False
        await uow.commit()

    response = await panel.client.get("/account/password", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_the_chosen_language_sticks_to_the_person(panel: Panel, add_staff: AddStaff) -> None:
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.sign_in("anna@desk.example")
    before = await (await panel.client.get("/account/password")).text()
    switched = await panel.post("/account/language", {"lang": "en", "next": "/account/password"})
    after = await (await panel.client.get("/account/password")).text()

    assert "Сменить пароль" in before
    assert switched.headers["Location"] == "/account/password"
    assert "Change password" in after and "Сменить пароль" not in after


async def test_pages_forbid_framing_and_foreign_scripts(panel: Panel) -> None:
    response = await panel.client.get("/login")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_errors_are_pages_in_russian_with_a_way_back(
    panel: Panel, add_staff: AddStaff
) -> None:
    signed_out = await panel.client.get("/no/such/page")
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    await panel.sign_in("anna@desk.example")
    missing = await panel.client.get("/no/such/page")
    expired = await panel.client.post(
        "/account/language", data={"lang": "en", "csrf_token": "stale"}, allow_redirects=False
    )
    htmx = await panel.client.get("/no/such/page", headers={"HX-Request": "true"})
    machine = await panel.client.get("/telegram/nothing")

    assert signed_out.status == 404 and "Здесь ничего нет" in await signed_out.text()
    assert 'href="/login"' in await signed_out.text()
    page = await missing.text()
    assert missing.status == 404 and "Такой страницы нет" in page
    assert 'data-section="inbox"' in page and 'href="/inbox">Вернуться во входящие' in page
    assert expired.status == 403 and "Обновите её и попробуйте ещё раз" in await expired.text()
    assert htmx.status == 404 and "<html" not in await htmx.text()
    assert machine.status == 404 and "<html" not in await machine.text()

"""Logging in and out of the console, and what an anonymous visitor gets."""

from .helpers import PASSWORD, csrf_token_in, log_in


def test_a_user_logs_in_with_login_and_password_and_lands_in_the_console(client, users):
    users.create("ann", "admin")
    response = log_in(client, "ann")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "ann" in home.get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_message_and_no_session(client, users):
    users.create("ann", "admin")
    response = log_in(client, "ann", "not-the-password")
    assert response.status_code == 401
    assert "Wrong login or password" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(client, users):
    users.create("ann", "admin")
    wrong = log_in(client, "ann", "nope-nope").get_data(as_text=True)
    unknown = log_in(client, "nobody", "nope-nope").get_data(as_text=True)
    assert "Wrong login or password" in wrong
    assert "Wrong login or password" in unknown


def test_a_deactivated_user_cannot_log_in(client, users, session):
    from erpkit.models import User

    users.create("ann", "admin")
    session.query(User).filter_by(login="ann").one().active = False
    session.commit()
    assert log_in(client, "ann").status_code == 401


def test_logging_out_takes_a_post_and_ends_the_session(client, users):
    users.create("ann", "admin")
    log_in(client, "ann")
    # A GET only asks for confirmation: a link on another site cannot log you out.
    confirm = client.get("/logout")
    assert confirm.status_code == 200
    assert client.get("/admin/").status_code == 200
    response = client.post(
        "/logout", data={"csrf_token": csrf_token_in(confirm.get_data(as_text=True))}
    )
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/admin/").status_code == 302


def test_the_console_sends_an_anonymous_visitor_to_the_login_page_and_back(client, users):
    response = client.get("/admin/parameters/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/parameters/"

    users.create("ann", "admin")
    token = csrf_token_in(client.get(response.headers["Location"]).get_data(as_text=True))
    back = client.post(
        "/login",
        data={
            "login": "ann",
            "password": PASSWORD,
            "next": "/admin/parameters/",
            "csrf_token": token,
        },
    )
    assert back.headers["Location"] == "/admin/parameters/"


def test_every_console_page_redirects_an_anonymous_visitor(client):
    for url in (
        "/admin/",
        "/admin/users/",
        "/admin/roles/",
        "/admin/roles/matrix/",
        "/admin/tokens/",
        "/admin/parameters/",
        "/admin/plugins/",
        "/admin/audit/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_login_never_redirects_to_another_site(app, users):
    users.create("ann", "admin")
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client = app.test_client()
        token = csrf_token_in(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login",
            data={"login": "ann", "password": PASSWORD, "next": target, "csrf_token": token},
        )
        assert response.headers["Location"] == "/admin/", target


def test_a_login_post_without_csrf_token_is_refused(client, users):
    users.create("ann", "admin")
    response = client.post("/login", data={"login": "ann", "password": PASSWORD})
    assert response.status_code == 400
    assert "nothing changed" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_an_anonymous_json_client_gets_401_json_not_a_redirect(client):
    response = client.get("/api/settings/")
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["code"] == "unauthorized"

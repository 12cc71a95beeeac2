"""An unexpected failure still answers with a translated page, and writes nothing."""

from __future__ import annotations

from tests.conftest import make_app, reset_schema


def test_unexpected_error_gives_a_translated_500(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'e.sqlite3'}", PROPAGATE_EXCEPTIONS=False)
    reset_schema(app)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    client = app.test_client()
    client.get("/language/zh_Hant?next=/")
    response = client.get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and 'lang="zh-Hant"' in html
    assert "Something went wrong on our side" not in html and "a bug" not in html
    assert response.headers["Content-Security-Policy"]

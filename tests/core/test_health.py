"""The app factory serves /health with database and migration state."""


def test_health_reports_database_and_every_branch_at_head(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"]["core"]["up_to_date"] is True


def test_unknown_url_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["code"] == "not_found"

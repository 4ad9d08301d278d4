from unittest import mock

import pytest


@pytest.mark.django_db
def test_healthz_is_200_with_json_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_is_down(client):
    with mock.patch("syncsmart.health._broker_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


@pytest.mark.django_db
def test_healthz_is_503_naming_the_database_when_it_is_down(client):
    with mock.patch("syncsmart.health._database_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]

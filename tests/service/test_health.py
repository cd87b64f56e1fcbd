def test_health_is_503_naming_each_component_that_is_down(client, fake_rasa):
    fake_rasa.down = True
    response = client.get("/healthz")
    assert response.status_code == 503
    components = response.json()["components"]
    assert set(components) == {"rasa", "actions", "index", "database"}
    assert components["database"]["up"] is True
    assert components["rasa"]["up"] is False
    assert components["actions"]["up"] is False  # nothing listens on the test's action port
    assert components["index"]["up"] is False and "daoban index build" in components["index"]["detail"]

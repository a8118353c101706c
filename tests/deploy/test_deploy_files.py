"""Docker does not run here, so the deployment files are checked against the code: every service,
variable and port they name must exist in the code."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from shared.platform.settings import ENV_PREFIX, PlatformSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(path.parent.name for path in (ROOT / "services").glob("*/__main__.py"))


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service}.config")
    classes = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, PlatformSettings) and value is not PlatformSettings]
    assert len(classes) == 1, f"services/{service}/config.py should define one Settings class"
    return classes[0]


def known_variables(service: str) -> set[str]:
    return {ENV_PREFIX + name.upper() for name in settings_class(service).model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_env(definition: dict[str, Any]) -> dict[str, str]:
    env = definition.get("environment", {})
    return dict(item.split("=", 1) for item in env) if isinstance(env, list) else dict(env)


class TestDockerCompose:
    def test_every_service_is_in_compose_built_from_the_one_dockerfile(self, compose: dict[str, Any]) -> None:
        built = {name: spec["build"] for name, spec in compose["services"].items() if "build" in spec}
        assert sorted(built) == SERVICES
        for name, build in built.items():
            assert build["dockerfile"] == "deploy/Dockerfile"
            assert build["args"]["SERVICE"] == name

    def test_every_variable_compose_sets_is_a_setting_of_that_service(self, compose: dict[str, Any]) -> None:
        for name in SERVICES:
            env = compose_env(compose["services"][name])
            unknown = {key for key in env if key.startswith(ENV_PREFIX)} - known_variables(name)
            assert not unknown, f"{name}: compose sets variables the code does not read: {sorted(unknown)}"

    def test_published_ports_are_the_ports_services_listen_on(self, compose: dict[str, Any]) -> None:
        for name in SERVICES:
            spec = compose["services"][name]
            env = compose_env(spec)
            ports = [env[variable] for variable in ("ARF_HTTP_PORT", "ARF_MAIL_INBOUND_PORT") if variable in env]
            assert spec["ports"] == [f"{port}:{port}" for port in ports]

    def test_infrastructure_is_kafka_kraft_a_mongodb_replica_set_and_mailpit(self, compose: dict[str, Any]) -> None:
        services = compose["services"]
        assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
        assert "--replSet" in services["mongo"]["command"]
        assert services["mailpit"]["image"].startswith("axllent/mailpit")
        for name in SERVICES:
            assert set(services[name]["depends_on"]) <= set(services)
            env = compose_env(services[name])
            assert env["ARF_KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] == "kafka"
            assert "mongo:27017" in env["ARF_MONGODB_URL"]

    def test_the_dockerfile_starts_the_service_named_by_its_build_argument(self) -> None:
        dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
        assert "ARG SERVICE" in dockerfile
        assert "python -m services.${ARF_SERVICE}" in dockerfile
        for copied in re.findall(r"^COPY (?!--)(\S+)", dockerfile, flags=re.M):
            assert (ROOT / copied).exists(), f"the Dockerfile copies {copied}, which does not exist"


class TestKubernetes:
    def manifests(self) -> list[dict[str, Any]]:
        documents = []
        for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
            documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        return documents

    def test_each_service_has_a_deployment_with_probes_on_health_and_readiness(self) -> None:
        deployments = {doc["metadata"]["name"]: doc for doc in self.manifests() if doc["kind"] == "Deployment"}
        assert sorted(deployments) == SERVICES
        for name, deployment in deployments.items():
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            port = next(item["value"] for item in container["env"] if item["name"] == "ARF_HTTP_PORT")
            assert container["ports"][0]["containerPort"] == int(port)
            names = {item["name"] for item in container["env"]}
            assert names <= known_variables(name)

    def test_the_config_map_only_sets_variables_every_service_reads(self) -> None:
        config = next(doc for doc in self.manifests() if doc["kind"] == "ConfigMap")
        for name in SERVICES:
            assert set(config["data"]) <= known_variables(name)

    @pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
    def test_kustomize_renders_the_manifests(self) -> None:
        result = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy" / "k8s")], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("kind: Deployment") == len(SERVICES)

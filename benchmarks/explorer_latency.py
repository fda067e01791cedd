"""What one explorer request costs the server: a sheet and a walk, through the HTTP app, in CPU and wall seconds.

The browser test's timings.json measures the same from the click to the images in the page;
this leaves out the browser, and CPU seconds hold still on a machine that others share.

python -m benchmarks.explorer_latency --checkpoint RUN_DIR_OR_FILE [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from fastapi.testclient import TestClient

from dcgan.serve import Explorer, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a run folder or a .safetensors checkpoint")
    parser.add_argument("--repeat", type=int, default=5, help="requests of each kind; the median is shown")
    args = parser.parse_args()
    client = TestClient(create_app(Explorer([args.checkpoint])))
    name = client.get("/api/info").json()["checkpoints"][0]["name"]

    def post(path: str, **body) -> dict:
        response = client.post(path, json={"checkpoint": name, **body})
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    z = post("/api/sheet", seed=5, n=12)["z"]  # the first request loads the generator
    print(f"first sheet of 12 (loads the checkpoint): {time.perf_counter() - started:.3f} s wall")
    for label, path, body in (
        ("sheet of 16", "/api/sheet", {"seed": 1, "n": 16}),
        ("sheet of 64", "/api/sheet", {"seed": 1, "n": 64}),
        ("walk between 2 samples, 6 steps", "/api/walk", {"z": [z[0], z[3]], "steps": 6}),
    ):
        cpu, wall = [], []
        for _ in range(args.repeat):
            c, w = time.process_time(), time.perf_counter()
            post(path, **body)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
        print(f"{label}: {statistics.median(cpu):.3f} CPU s, {statistics.median(wall):.3f} s wall (medians)")
    print(f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()

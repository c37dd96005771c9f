"""For a machine with a GPU: one encoder's epoch time on CPU vs GPU (vehicles-vs-animals, 9000
images), then a grid run on the GPU. Prints what it measures; on a machine without CUDA it
says so and measures the CPU alone."""

import argparse
import time

import torch

from common import VEHICLES, bench_run

from bench.data import load_dataset
from models import create_encoder
from models.train import train

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--encoder", default="conv")
parser.add_argument("--grid", default="no-pretrained")
args = parser.parse_args()

data = load_dataset(str(VEHICLES))
devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
print(f"torch {torch.__version__}, CUDA {'yes: ' + torch.cuda.get_device_name(0) if len(devices) > 1 else 'no'}")
for device in devices:
    torch.manual_seed(0)
    model = create_encoder(args.encoder, in_channels=3, image_size=(32, 32), epochs=2).to(device)
    x = torch.from_numpy(data.x).to(device)
    start = time.perf_counter()
    train(model, x, seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    print(f"{args.encoder} epoch on {device}: {(time.perf_counter() - start) / 2:.2f} s", flush=True)
if len(devices) > 1:
    run, _, wall = bench_run("--data", VEHICLES, "--grid", args.grid, "--jobs", 4)
    print(f"grid {args.grid} on the GPU: {wall:.0f} s, ensemble ACC {run['ensemble']['metrics']['acc']:.3f}")

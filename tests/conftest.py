"""Test-session settings shared by every test module."""

import torch

# The suite runs many small tensor ops on a 2-core CI machine; one intra-op
# thread avoids OpenMP oversubscription (measured 30x slower ops under load).
torch.set_num_threads(1)

"""The sample set a p-bit sampler returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SampleResult:
    """Samples with energies and where they came from.

    ``states``: int8 ``(samples, N)`` in {-1, +1}; ``energies``: float64 per
    sample (paradigmlab sign convention, equal to dimod's energy of
    ``model.to_bqm()``); ``chain``: chain index of each sample; ``sweep``: the
    sweep after which it was recorded (1-based); ``beta``: inverse temperature
    it was sampled at; ``info``: timing and sampler facts (wall seconds,
    attempted updates, flips per ns, backend, colours).
    """

    states: np.ndarray
    energies: np.ndarray
    chain: np.ndarray
    sweep: np.ndarray
    beta: np.ndarray
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.states.shape[0]

    def lowest(self) -> tuple[np.ndarray, float]:
        """The lowest-energy sample and its energy."""
        k = int(np.argmin(self.energies))
        return self.states[k], float(self.energies[k])

    def at_beta(self, beta: float) -> "SampleResult":
        """Only the samples drawn at inverse temperature ``beta`` (parallel tempering)."""
        keep = np.isclose(self.beta, beta)
        if not keep.any():
            raise ValueError(f"no samples at beta={beta}; available: {np.unique(self.beta).tolist()}")
        return SampleResult(self.states[keep], self.energies[keep], self.chain[keep], self.sweep[keep],
                            self.beta[keep], dict(self.info))

    def to_sampleset(self):
        """Convert to a dimod ``SampleSet`` (SPIN vartype), keeping chain and sweep ids."""
        import dimod

        return dimod.SampleSet.from_samples(
            (self.states, list(range(self.states.shape[1]))),
            dimod.SPIN,
            energy=self.energies,
            chain=self.chain,
            sweep=self.sweep,
        )

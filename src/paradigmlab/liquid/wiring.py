"""Synapse masks for the liquid cells: Neural Circuit Policies (NCP) and the fully connected default.

An NCP (Lechner, Hasani, Amini, Henzinger, Rus, Grosu, "Neural circuit policies enabling auditable
autonomy", Nature Machine Intelligence 2, 642-652 (2020)) is a sparse four-layer circuit modelled on the
C. elegans nervous system: sensory inputs -> inter neurons -> command neurons -> motor neurons, plus
recurrent synapses among the command neurons. The constructor takes the arguments of ncps's
``wirings.NCP``; the neuron numbering is also ncps's (motor neurons first, then command, then inter), so that
the motor neurons -- the outputs -- are the first ``output_size`` units of the state.

Only *which* synapses exist is kept: a mask of zeros and ones. ncps also draws a polarity (+1 / -1) per
synapse for its conductance model (one reversal potential per synapse); :class:`~paradigmlab.liquid.cells.LTCCell`
is eq. 1 with one reversal potential per neuron, so a polarity has nothing to act on there.
"""

from __future__ import annotations

import numpy as np
import torch

from paradigmlab.validate import integer


class FullyConnected:
    """Every neuron receives every neuron and every input: the masks are all ones (an unwired cell)."""

    def __init__(self, units: int, output_size: int | None = None) -> None:
        self.units = integer(units, "units", min=1)
        self.output_size = self.units if output_size is None else integer(output_size, "output_size", min=1,
                                                                          max=self.units)

    @property
    def adjacency(self) -> torch.Tensor:
        """``(units, units)`` mask, ``[presynaptic, postsynaptic]``."""
        return torch.ones(self.units, self.units)

    def sensory_mask(self, input_size: int) -> torch.Tensor:
        """``(input_size, units)`` mask, ``[input, postsynaptic]``."""
        return torch.ones(integer(input_size, "input_size", min=1), self.units)

    def __repr__(self) -> str:
        return f"FullyConnected({self.units})"


class NCP:
    """Neural circuit policy wiring; ``units = inter + command + motor`` neurons, ``output_size = motor``.

    * each sensory input synapses onto ``sensory_fanout`` distinct inter neurons;
    * each inter neuron onto ``inter_fanout`` distinct command neurons;
    * ``recurrent_command_synapses`` command -> command synapses drawn at random (a repeated draw is one
      synapse, so there may be fewer);
    * each motor neuron receives ``motor_fanin`` distinct command neurons.

    Then, as ncps does, no neuron is left cut off: an inter neuron that no input reached, or a command
    neuron that no inter neuron reached, receives the mean fan-in of its layer from random presynaptic
    neurons; a command neuron that reaches no motor neuron synapses onto the mean fan-out of its layer. The
    counts above are therefore minima (exact for the motor fan-in unless a command neuron had to be
    attached). No synapse joins any other pair of layers. ``seed`` fixes every draw (numpy's ``default_rng``;
    the draws are not ncps's, whose ``RandomState`` sequence we do not reproduce).
    """

    def __init__(self, inter_neurons: int, command_neurons: int, motor_neurons: int, sensory_fanout: int,
                 inter_fanout: int, recurrent_command_synapses: int, motor_fanin: int, seed: int = 22222) -> None:
        self.num_inter = integer(inter_neurons, "inter_neurons", min=1)
        self.num_command = integer(command_neurons, "command_neurons", min=1)
        self.num_motor = integer(motor_neurons, "motor_neurons", min=1)
        self.sensory_fanout = integer(sensory_fanout, "sensory_fanout", min=1, max=self.num_inter)
        self.inter_fanout = integer(inter_fanout, "inter_fanout", min=1, max=self.num_command)
        self.recurrent_command_synapses = integer(recurrent_command_synapses, "recurrent_command_synapses", min=0)
        self.motor_fanin = integer(motor_fanin, "motor_fanin", min=1, max=self.num_command)
        self.seed = integer(seed, "seed", min=0)
        self.units = self.num_inter + self.num_command + self.num_motor
        self.output_size = self.num_motor
        m, c = self.num_motor, self.num_command
        self.motor_neurons = np.arange(0, m)
        self.command_neurons = np.arange(m, m + c)
        self.inter_neurons = np.arange(m + c, self.units)

        rng = np.random.default_rng([self.seed, 0])
        adj = np.zeros((self.units, self.units), dtype=bool)
        inter_cmd = self._feedforward(rng, self.num_inter, self.num_command, self.inter_fanout)
        adj[np.ix_(self.inter_neurons, self.command_neurons)] = inter_cmd
        pre = rng.integers(0, c, size=self.recurrent_command_synapses)
        post = rng.integers(0, c, size=self.recurrent_command_synapses)
        adj[self.command_neurons[pre], self.command_neurons[post]] = True
        # motor fan-in is the primary count, so draw it as post x pre and transpose
        cmd_motor = self._feedforward(rng, self.num_motor, c, self.motor_fanin).T
        # a command neuron reaching no motor neuron: give it the mean fan-out towards the motor layer
        fanout = max(1, int(round(cmd_motor.sum() / c)))
        for i in np.flatnonzero(~cmd_motor.any(1)):
            cmd_motor[i, rng.choice(self.num_motor, size=min(fanout, self.num_motor), replace=False)] = True
        adj[np.ix_(self.command_neurons, self.motor_neurons)] = cmd_motor
        self._adjacency = torch.from_numpy(adj.astype(np.float32))

    @staticmethod
    def _feedforward(rng, n_pre: int, n_post: int, fanout: int) -> np.ndarray:
        """``(n_pre, n_post)``: each presynaptic neuron onto ``fanout`` distinct postsynaptic ones; then each
        postsynaptic neuron left without input receives the mean fan-in from random presynaptic ones."""
        mask = np.zeros((n_pre, n_post), dtype=bool)
        for j in range(n_pre):
            mask[j, rng.choice(n_post, size=fanout, replace=False)] = True
        fanin = max(1, int(round(mask.sum() / n_post)))
        for i in np.flatnonzero(~mask.any(0)):
            mask[rng.choice(n_pre, size=min(fanin, n_pre), replace=False), i] = True
        return mask

    @property
    def adjacency(self) -> torch.Tensor:
        """``(units, units)`` 0/1 mask, ``[presynaptic, postsynaptic]`` (LTCCell's ``w[j, i]`` layout)."""
        return self._adjacency.clone()

    def sensory_mask(self, input_size: int) -> torch.Tensor:
        """``(input_size, units)`` 0/1 mask: each input onto ``sensory_fanout`` inter neurons (and every inter
        neuron reached); drawn from ``(seed, input_size)``, so the same call gives the same mask."""
        n_in = integer(input_size, "input_size", min=1)
        rng = np.random.default_rng([self.seed, 1, n_in])
        mask = np.zeros((n_in, self.units), dtype=bool)
        mask[:, self.inter_neurons] = self._feedforward(rng, n_in, self.num_inter, self.sensory_fanout)
        return torch.from_numpy(mask.astype(np.float32))

    def __repr__(self) -> str:
        return (f"NCP(inter_neurons={self.num_inter}, command_neurons={self.num_command}, "
                f"motor_neurons={self.num_motor}, sensory_fanout={self.sensory_fanout}, "
                f"inter_fanout={self.inter_fanout}, recurrent_command_synapses={self.recurrent_command_synapses}, "
                f"motor_fanin={self.motor_fanin}, seed={self.seed})")


__all__ = ["FullyConnected", "NCP"]

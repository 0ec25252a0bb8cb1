import torch

from paradigmlab.measure import machine_info


def test_machine_info_names_the_vector_unit_torch_uses():
    # "AMD EPYC" alone named two machines whose kernels ran 3-4x apart (AVX-512 against AVX2)
    info = machine_info()
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["processor"].endswith(f"({info['cpu_capability']})")  # what the reports print as the machine
    assert info["cpu_count"] >= 1

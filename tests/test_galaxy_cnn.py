"""GalaxyCNN's grid options: where each convolution block's output lies."""
import pytest
import torch

from glue_xai.models.galaxy_cnn import GalaxyCNN


def _block_grids(module, size=64):
    """Side (pixels) of each convolution block's output (its ReLU) for a size x size image."""
    sides = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: sides.append(out.shape[-1]))
             for layer in module.trunk if isinstance(layer, torch.nn.ReLU)]
    with torch.inference_mode():
        module.eval()(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return sides


def test_input_pool_off_runs_the_first_convolution_on_the_pixels():
    # Default: 0.262" pixels pooled to 0.52" before the first convolution, so a 64x64 image
    # gives blocks on 32, 16, 8, 4 cells. Without the input pool every grid is twice as
    # fine: the 2nd block (galaxy-bars' Grad-CAM layer) on 32x32 cells of 0.52".
    assert _block_grids(GalaxyCNN()) == [32, 16, 8, 4]
    assert _block_grids(GalaxyCNN(input_pool=False)) == [64, 32, 16, 8]
    # ``pools`` still counts the later pools: two of them with the input pool kept, one without.
    assert _block_grids(GalaxyCNN(pools=2)) == [32, 16, 16, 16]
    assert _block_grids(GalaxyCNN(pools=2, input_pool=False)) == [64, 32, 32, 32]


def test_input_pool_on_keeps_the_layer_names_of_weights_saved_before_the_option():
    # Weights saved before the option existed (galaxy-bt-sfnet's trunk) name the first
    # convolution trunk.2 (trunk.0 the stretch, trunk.1 the pool); the same weights give
    # the same outputs whether input_pool=True is passed or left to its default.
    torch.manual_seed(0)
    old_style = GalaxyCNN()
    assert isinstance(old_style.trunk[1], torch.nn.AvgPool2d) and "trunk.2.weight" in old_style.state_dict()
    explicit = GalaxyCNN(input_pool=True)
    explicit.load_state_dict(old_style.state_dict())
    x = torch.rand(2, 3, 64, 64) * 0.1
    with torch.inference_mode():
        assert torch.equal(old_style.eval()(x), explicit.eval()(x))
    # Without the pool the same names hold other shapes: pooled weights cannot be loaded
    # into the finer network (or the reverse) by mistake.
    with pytest.raises(RuntimeError, match="size mismatch"):
        GalaxyCNN(input_pool=False).load_state_dict(old_style.state_dict())

import numpy as np


def test_debug_model_round_trip(debug_model):
    toks = debug_model.sample(3, seed=1)
    assert toks.shape == (3, debug_model.steps)
    z = debug_model.encode(toks)
    assert z.shape == (3, debug_model.z_dim) and np.isfinite(z).all()
    assert set(debug_model.styles[1:]) == {"reels", "airs", "marches"}

"""The benchmark's baselines: vanilla, zigzag and twin written directly in Keras, by hand.

Same layers, shapes, initialisers and optimizer settings as the specs; the loop over steps
is written out as a person would write it (step 0 has no recurrent term, because the state
is zero there).  The augmentation and standardisation layers are the same Keras layers the
compiler uses (rnndsl.tf_layers): what is compared is the wiring, not the augmentation code.
"""

from __future__ import annotations

import keras
from keras import layers

from rnndsl.backends.keras.layers import Blur, FlipLR, GaussianNoise, PoissonNoise, Standardize, UniformNoise


def _conv(filters: int, kernel: int, std: float, name: str, truncated: bool = False) -> layers.Conv2D:
    init = keras.initializers.TruncatedNormal(0.0, std) if truncated else keras.initializers.RandomNormal(0.0, std)
    return layers.Conv2D(filters, kernel, padding="same", use_bias=False, kernel_initializer=init, name=name)


def vanilla() -> keras.Model:
    """Post 1 case a: s[t] = W x[t] + H s[t-1], head on elu(s[3]).  Returns the logits model."""
    image = keras.Input((28, 28, 1), name="image")
    xs = [image, GaussianNoise(0.1)(image), PoissonNoise(0.1, 1.0)(image), UniformNoise(0.6, 0.5, 1.0)(image)]
    W, H = _conv(5, 3, 1.0, "W"), _conv(5, 1, 1.0, "H")
    s = W(xs[0])
    for x in xs[1:]:
        s = layers.Add()([W(x), H(s)])
    h = layers.Activation("elu")(s)
    h = layers.Activation("elu")(_conv(7, 3, 0.05, "c1")(h))
    h = layers.AveragePooling2D(2)(h)
    h = layers.Activation("elu")(_conv(9, 3, 0.05, "c2")(h))
    h = layers.AveragePooling2D(2)(h)
    h = layers.Activation("elu")(_conv(10, 1, 0.05, "c3")(h))
    return keras.Model(image, layers.GlobalAveragePooling2D()(h), name="vanilla_handwritten")


def zigzag() -> keras.Model:
    """Post 2 case b: two streams, straight at step 0, crossed after."""
    image = keras.Input((32, 32, 3), name="image")
    o = Standardize()(image)
    f = Standardize()(Blur((0.0, 0.5), 0.5, train_only=True)(FlipLR(1.0, train_only=True)(image)))
    Wa, Ha, Wb, Hb = (_conv(96, k, 0.05, n) for n, k in (("Wa", 3), ("Ha", 1), ("Wb", 3), ("Hb", 1)))
    elu = layers.Activation("elu")
    a, b = elu(Wa(o)), elu(Wb(f))
    for t in range(1, 4):
        u, v = (o, f) if t % 2 == 0 else (f, o)
        a, b = elu(layers.Add()([Wa(u), Ha(b)])), elu(layers.Add()([Wb(v), Hb(a)]))
    K = _conv(192, 3, 0.05, "K")
    h = layers.AveragePooling2D(2)(layers.Concatenate()([a, b]))
    h = elu(K(h))
    h = elu(K(h))
    h = layers.AveragePooling2D(2)(elu(_conv(192, 1, 0.05, "c1")(h)))
    h = elu(_conv(192, 3, 0.05, "c2")(h))
    h = elu(_conv(192, 1, 0.05, "c3")(h))
    h = elu(_conv(10, 1, 0.05, "c4")(h))
    return keras.Model(image, layers.GlobalAveragePooling2D()(h), name="zigzag_handwritten")


def twin() -> keras.Model:
    """Post 2 case e: a shared stem, two branches (the right one a conv deeper), concatenated."""
    image = keras.Input((32, 32, 3), name="image")
    x = Standardize()(Blur((0.0, 0.5), 0.1, train_only=True)(FlipLR(0.5, train_only=True)(image)))

    def conv(filters: int, kernel: int, name: str):
        c = _conv(filters, kernel, 0.05, name, truncated=True)
        return lambda h: layers.Activation("elu")(c(h))

    pool = layers.AveragePooling2D(2)
    A = conv(96, 3, "stem1")(x)
    B = conv(96, 3, "stem2")(A)

    def branch(h, side: str):
        h = conv(192, 3, f"{side}1")(pool(h))
        h = conv(192, 3, f"{side}2")(pool(h))
        return conv(96, 1, f"{side}3")(pool(h))

    h = layers.Concatenate()([branch(B, "R"), branch(A, "L")])
    h = conv(192, 1, "m1")(pool(h))
    h = conv(10, 1, "m2")(h)
    return keras.Model(image, layers.GlobalAveragePooling2D()(h), name="twin_handwritten")


MODELS = {"vanilla": vanilla, "zigzag": zigzag, "twin": twin}

"""Training-time augmentation inside the tf.data graph: a random affine jitter per image and,
optionally, a smooth random elastic distortion (Simard et al. 2003), applied as one bilinear
resample so each image is interpolated once; optionally, a share of the images seen at a lower
resolution, as a coarse scan would give them. No flips: a flipped 6 is not a 9."""

from __future__ import annotations

import math
from dataclasses import dataclass

from digitrec.constants import IMAGE_SIZE


@dataclass(frozen=True)
class Augmentation:
    """Random affine jitter, plus an elastic displacement of `elastic` px (RMS over the image,
    0 = off) that varies smoothly across a `grid` x `grid` lattice of random control points."""

    rotation_degrees: float = 10.0
    zoom: float = 0.10
    shift: float = 0.10
    elastic: float = 0.0
    grid: int = 4
    low_resolution: float = 0.0  # share of images shrunk to LOW_SIDES px and enlarged back


LOW_SIDES = (9, 17)  # a coarse image's side, drawn per batch from [9, 17) px


def random_warp(images, seed, aug: Augmentation):
    """The augmentation of a batch (B, 28, 28, 1) float32 under a stateless seed (2,)."""
    if aug.elastic > 0:
        warped = elastic_affine(images, seed, aug)
    else:
        warped = random_affine(images, seed, aug)
    if aug.low_resolution > 0:
        return coarsened(warped, seed, aug.low_resolution)
    return warped


def coarsened(images, seed, share: float):
    """`share` of the batch (B, 28, 28, 1) shrunk to a side drawn from LOW_SIDES (area
    averaging) and enlarged back bilinearly, each picked image's peak restored: the blocky,
    blurred strokes of a low-resolution scan that preprocessing then enlarges."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(
        tf.random.experimental.stateless_fold_in(seed, 3), 2
    )
    side = tf.random.stateless_uniform([], seeds[0], *LOW_SIDES, dtype=tf.int32)
    small = tf.image.resize(images, tf.stack([side, side]), method="area")
    blurred = tf.image.resize(small, [IMAGE_SIZE, IMAGE_SIZE], method="bilinear")
    peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    blurred = blurred * (
        peak / tf.maximum(tf.reduce_max(blurred, axis=[1, 2, 3], keepdims=True), 1e-6)
    )
    picked = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seeds[1]) < share
    return tf.where(picked, blurred, images)


def affine_transforms(batch, seed, aug: Augmentation):
    """(B, 8) projective transforms: output pixel (x, y) samples the input at
    (a0 x + a1 y + a2, b0 x + b1 y + b2)."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 4)
    angle = tf.random.stateless_uniform([batch], seeds[0], -1.0, 1.0) * aug.rotation_degrees
    angle = angle * (math.pi / 180)
    scale = tf.random.stateless_uniform([batch], seeds[1], 1 - aug.zoom, 1 + aug.zoom)
    tx = tf.random.stateless_uniform([batch], seeds[2], -aug.shift, aug.shift) * IMAGE_SIZE
    ty = tf.random.stateless_uniform([batch], seeds[3], -aug.shift, aug.shift) * IMAGE_SIZE
    centre = (IMAGE_SIZE - 1) / 2
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    zeros = tf.zeros_like(cos)
    return tf.stack(
        [
            cos,
            -sin,
            centre - cos * centre + sin * centre - tx,
            sin,
            cos,
            centre - sin * centre - cos * centre - ty,
            zeros,
            zeros,
        ],
        axis=1,
    )  # (B, 8)


def random_affine(images, seed, aug: Augmentation):
    """One random rotation+zoom+shift per image, applied as a single bilinear resample."""
    import tensorflow as tf

    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=affine_transforms(tf.shape(images)[0], seed, aug),
        output_shape=[IMAGE_SIZE, IMAGE_SIZE],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def elastic_affine(images, seed, aug: Augmentation):
    """The affine jitter plus a smooth random displacement field, in one bilinear resample."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    t = affine_transforms(batch, tf.random.experimental.stateless_fold_in(seed, 1), aug)
    axis = tf.range(IMAGE_SIZE, dtype=tf.float32)
    y, x = tf.meshgrid(axis, axis, indexing="ij")  # (28, 28) each
    xs = t[:, 0, None, None] * x + t[:, 1, None, None] * y + t[:, 2, None, None]  # (B, 28, 28)
    ys = t[:, 3, None, None] * x + t[:, 4, None, None] * y + t[:, 5, None, None]
    field = displacement_field(batch, tf.random.experimental.stateless_fold_in(seed, 2), aug)
    return bilinear_sample(images, xs + field[..., 0], ys + field[..., 1])


def displacement_field(batch, seed, aug: Augmentation):
    """(B, 28, 28, 2) smooth displacements of `aug.elastic` px RMS: uniform noise on a coarse
    lattice, upsampled bicubically (the smoothing Simard et al. do with a Gaussian)."""
    import tensorflow as tf

    coarse = tf.random.stateless_uniform([batch, aug.grid, aug.grid, 2], seed, -1.0, 1.0)
    smooth = tf.image.resize(coarse, [IMAGE_SIZE, IMAGE_SIZE], method="bicubic")
    rms = tf.sqrt(tf.reduce_mean(tf.square(smooth), axis=[1, 2, 3], keepdims=True) + 1e-6)
    return smooth * (aug.elastic / rms)


def bilinear_sample(images, xs, ys):
    """images (B, H, W, 1) read at float coordinates xs, ys (B, H, W); zero outside."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    flat = tf.reshape(images, [-1])  # (B*H*W,)
    x0, y0 = tf.floor(xs), tf.floor(ys)
    wx, wy = xs - x0, ys - y0
    base = tf.range(batch)[:, None, None] * (IMAGE_SIZE * IMAGE_SIZE)  # (B, 1, 1)

    def corner(cx, cy):
        inside = (cx >= 0) & (cx <= IMAGE_SIZE - 1) & (cy >= 0) & (cy <= IMAGE_SIZE - 1)
        ix = tf.clip_by_value(tf.cast(cx, tf.int32), 0, IMAGE_SIZE - 1)
        iy = tf.clip_by_value(tf.cast(cy, tf.int32), 0, IMAGE_SIZE - 1)
        values = tf.gather(flat, base + iy * IMAGE_SIZE + ix)  # (B, H, W)
        return tf.where(inside, values, 0.0)

    top = corner(x0, y0) * (1 - wx) + corner(x0 + 1, y0) * wx
    bottom = corner(x0, y0 + 1) * (1 - wx) + corner(x0 + 1, y0 + 1) * wx
    return (top * (1 - wy) + bottom * wy)[..., None]  # (B, H, W, 1)

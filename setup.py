"""Build the compiled decoder; all metadata lives in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("jetliner._plan", ["jetliner/_plan.pyx"]),
            # the buffer allocator and the guarded file mappings are C of their own,
            # linked into the decoder only
            Extension("jetliner._decoder", ["jetliner/_decoder.pyx", "jetliner/_buffers.c",
                                            "jetliner/_mapped.c"],
                      include_dirs=["jetliner"],
                      depends=["jetliner/_buffers.h", "jetliner/_mapped.h"],
                      extra_compile_args=["-O3"]),
            # the CRC32 is C of its own too (CPU-specific code chosen at run time)
            Extension("jetliner._snappy", ["jetliner/_snappy.pyx", "jetliner/_crc32.c"],
                      include_dirs=["jetliner"], depends=["jetliner/_crc32.h"],
                      extra_compile_args=["-O3"]),
            Extension("jetliner._framing", ["jetliner/_framing.pyx"], extra_compile_args=["-O3"]),
            Extension("jetliner._snappy_compress", ["jetliner/_snappy_compress.pyx"],
                      depends=["jetliner/_bits.h"], extra_compile_args=["-O3"]),
            Extension("jetliner._encoder", ["jetliner/_encoder.pyx"], extra_compile_args=["-O3"]),
        ],
        compiler_directives={"language_level": "3"},
    ),
)

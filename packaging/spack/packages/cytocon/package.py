# Spack recipe for cytocon (docs/hpc.md, "Spack"). From a checkout:
#   spack repo add packaging/spack
#   spack dev-build cytocon@main +cuda cuda_arch=80 +mpi        # or: spack install (with a mirror)
# The header-only libraries and GoogleTest come from third_party/ (CYTOCON_SYSTEM_DEPS=off): the
# versions cytocon is tested with, nothing more to concretize. packaging/check_spack.sh checks that
# the dependencies below are those of packaging/dependencies.txt, which CMake's messages also use.
from spack.package import *


class Cytocon(CMakePackage, CudaPackage):
    """Contrastive cytoarchitectonic mapping (Schiffer et al., ISBI 2021) with a small C++17/CUDA
    deep-learning engine: bit-reproducible multi-GPU training, evaluation and area maps."""

    maintainers("cytocon")
    license("MIT")

    version("main")

    variant("mpi", default=True, description="Multi-rank training (MPI; with +cuda also NCCL)")
    variant("native", default=False,
            description="-march=native: fastest on the building CPU, may not run on others")

    depends_on("cmake@3.20:", type="build")
    depends_on("gmake", type="build")
    depends_on("pkgconf", type="build")
    depends_on("libtiff")
    depends_on("zlib")
    depends_on("cairo+png+svg")  # the figures; their text needs a DejaVu Sans font at run time
    depends_on("mpi", when="+mpi")
    # CUDA 11.8 is the last toolkit for a K80 (cuda_arch=37); newer GPUs take any newer one.
    depends_on("cuda@11.8:", when="+cuda")
    depends_on("cudnn", when="+cuda")
    depends_on("nccl", when="+cuda+mpi")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define("CYTOCON_SYSTEM_DEPS", "off"),
            self.define("BUILD_TESTING", self.run_tests),
            self.define_from_variant("CYTOCON_NATIVE", "native"),
            self.define("CYTOCON_MPI", "on" if spec.satisfies("+mpi") else "off"),
            self.define("CYTOCON_CUDA", "on" if spec.satisfies("+cuda") else "off"),
        ]
        if spec.satisfies("+cuda"):
            args.append(self.define("CYTOCON_CUDA_ARCHITECTURES", ";".join(spec.variants["cuda_arch"].value)))
            args.append(self.define("CUDNN_INCLUDE_DIR", spec["cudnn"].prefix.include))
            args.append(self.define("CUDNN_LIBRARY", find_libraries("libcudnn", spec["cudnn"].prefix, recursive=True)[0]))
        return args

    def setup_run_environment(self, env):
        # The Slurm stage scripts find the configs and the programs from here (scripts/slurm/job.sh).
        env.set("CYTOCON_HOME", self.prefix.share.cytocon)

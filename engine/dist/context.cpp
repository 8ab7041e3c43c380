#include "engine/dist/context.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <thread>

#ifdef CYTOCON_HAVE_MPI
#include <unistd.h>

#include "engine/dist/mpi_comm.h"
#endif
#ifdef CYTOCON_HAVE_CUDA
#include "engine/dist/gpu.h"
#endif

namespace cytocon::dist {

struct Context::State {
  int rank = 0, size = 1, local_rank = 0, local_size = 1, gpu = -1;
  bool launched = false, finalized = false;
  const char* backend = "single";
#ifdef CYTOCON_HAVE_MPI
  std::unique_ptr<MpiComm> mpi;
  MPI_Comm exit_comm = MPI_COMM_NULL;  // only for agreeing on a non-zero exit (run())
#endif
  std::unique_ptr<Comm> device;  // NCCL
  Comm* comm = &single_process();
};

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  return v ? std::atoi(v) : fallback;
}

double collective_timeout(const Options& o) {
  if (o.collective_timeout_s >= 0) return o.collective_timeout_s;
  const char* v = env("CYTOCON_COLLECTIVE_TIMEOUT");
  if (!v) return 600;
  char* end = nullptr;
  double t = std::strtod(v, &end);
  check(end != v && *end == '\0',
        std::string("CYTOCON_COLLECTIVE_TIMEOUT=") + v + ": expected a number of seconds (0 disables the limit)");
  return t;
}

// Node-local rank from launcher variables, for a process that does not use MPI.
int env_local_rank() {
  for (const char* n : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"}) {
    if (env(n)) return env_int(n, 0);
  }
  return 0;
}

// Processes the launcher says it started (0: unknown).
int env_world_size() {
  for (const char* n : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    if (env(n)) return env_int(n, 0);
  }
  return 0;
}

#ifdef CYTOCON_HAVE_MPI
std::string describe_current_exception() {
  try {
    std::rethrow_exception(std::current_exception());
  } catch (const std::exception& e) {
    return std::string("uncaught exception: ") + e.what();
  } catch (...) {
    return "uncaught exception of unknown type";
  }
}

bool g_finalized = false;

// True when every rank of `comm` enters this within `seconds`: a non-blocking barrier, polled.
bool all_arrive(MPI_Comm comm, double seconds) {
  MPI_Request req;
  if (MPI_Ibarrier(comm, &req) != MPI_SUCCESS) return false;
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
    if (done) return true;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void on_signal(int sig) {
  // A signal during an abort (the launcher's SIGTERM while this rank is still in abort_job): the
  // message is out already, so end now; abort_job would only wait for an end that this is.
  if (abort_in_progress()) _exit(128 + sig);
  const char* name = strsignal(sig);
  abort_job(std::string("received signal ") + std::to_string(sig) + " (" + (name ? name : "?") + ")");
}

// Under a launcher, every way a rank can die takes the others with it (issue 4, "Failure").
void install_failure_handlers() {
  std::set_terminate([] {
    std::exception_ptr p = std::current_exception();
    abort_job(p ? describe_current_exception() : std::string("std::terminate called"));
  });
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second signal of the same kind takes the default action
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT, SIGHUP}) sigaction(s, &sa, nullptr);
  std::atexit([] {
    if (g_finalized) return;
    if (abort_in_progress()) {
      // MPI_Abort's own exit(1) (MPICH ends it so): end here with that status. abort_job would
      // wait forever (a single-rank job would never end), and the static destructors still to
      // run could race the threads still inside MPI.
      std::fflush(nullptr);
      _exit(1);
    }
    abort_job("process exited without finalising MPI (std::exit called on this rank)");
  });
}
#endif

}  // namespace

bool launched_by_mpi_launcher() {
  for (const char* n : {"PMI_RANK", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS",
                        "SLURM_STEP_NUM_TASKS"}) {
    if (env(n)) return true;
  }
  return false;
}

Context init(int& argc, char**& argv, const Options& options) {
  static bool called = false;
  check(!called, "dist::init called twice: one Context per process");
  called = true;
  auto s = std::make_unique<Context::State>();
  const char* mode = env("CYTOCON_DIST");
  check(!mode || !std::strcmp(mode, "single") || !std::strcmp(mode, "mpi"),
        std::string("CYTOCON_DIST=") + (mode ? mode : "") + ": expected 'single' or 'mpi'");
  bool use_mpi = mode ? !std::strcmp(mode, "mpi") : launched_by_mpi_launcher();
  double timeout = collective_timeout(options);
  if (use_mpi) {
#ifdef CYTOCON_HAVE_MPI
    int provided = 0;
    // MULTIPLE: the watchdog thread may call MPI_Abort while the main thread waits in a collective.
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
      fail("MPI_Init_thread failed");
    s->launched = true;
    install_failure_handlers();
    s->mpi = std::make_unique<MpiComm>(MPI_COMM_WORLD, timeout);
    s->rank = s->mpi->rank();
    s->size = s->mpi->size();
    int expected = env_world_size();
    if (expected > 1 && s->size == 1)
      abort_job("the launcher started " + std::to_string(expected) +
                " processes but MPI sees a single one: this program's MPI library does not speak the "
                "launcher's protocol (with srun use --mpi=pmi2 or --mpi=pmix; with mpiexec use the one "
                "of the MPI this program was built with; CYTOCON_DIST=single runs one plain process)");
    MPI_Comm node;
    s->mpi->check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, s->rank, MPI_INFO_NULL, &node),
                      "MPI_Comm_split_type");
    MPI_Comm_rank(node, &s->local_rank);
    MPI_Comm_size(node, &s->local_size);
    MPI_Comm_free(&node);
    s->mpi->check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &s->exit_comm), "MPI_Comm_dup");
    s->comm = s->mpi.get();
    s->backend = "mpi";
#else
    (void)argc;
    (void)argv;
    fail("this process was started by an MPI launcher (or CYTOCON_DIST=mpi) but cytocon was built without "
         "MPI: install an MPI library (scripts/deps.sh) and rebuild, or run a single process");
#endif
  } else {
    s->local_rank = env_local_rank();
  }
  if (options.gpu) {
#ifdef CYTOCON_HAVE_CUDA
    s->gpu = select_gpu(s->local_rank);
#ifdef CYTOCON_HAVE_MPI
    if (s->mpi && s->size > 1) {
      s->device = make_nccl_comm(*s->mpi, timeout);
      if (s->device) {
        s->comm = s->device.get();
        s->backend = "mpi+nccl";
      }
    }
#endif
#else
    fail("GPU requested but cytocon was built without CUDA (configure with -DCYTOCON_CUDA=on)");
#endif
  }
  return Context(std::move(s));
}

Context::Context(std::unique_ptr<State> s) : s_(std::move(s)) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() { finalize(); }

int Context::rank() const { return s_->rank; }
int Context::size() const { return s_->size; }
int Context::local_rank() const { return s_->local_rank; }
int Context::local_size() const { return s_->local_size; }
bool Context::launched() const { return s_->launched; }
int Context::gpu() const { return s_->gpu; }
const char* Context::backend_name() const { return s_->backend; }
Comm& Context::comm() const { return *s_->comm; }
Comm& Context::host_comm() const {
#ifdef CYTOCON_HAVE_MPI
  if (s_->mpi) return *s_->mpi;
#endif
  return single_process();
}

Shards Context::shards(int total, ReduceMode mode) const {
  return Shards::make(total, s_->rank, s_->size, s_->comm, mode);
}

void Context::barrier() const { s_->comm->barrier(); }

void Context::abort(const std::string& message) const {
#ifdef CYTOCON_HAVE_MPI
  if (s_->launched) abort_job(message);
#endif
  single_process().abort(message);
}

void Context::write_once(const std::function<void()>& write) const {
  if (is_writer()) {
    if (!s_->launched) {
      write();
      return;
    }
    try {
      write();
    } catch (const std::exception& e) {
      abort(e.what());
    }
  }
  barrier();
}

void Context::finalize() {
  if (!s_ || s_->finalized) return;
  s_->finalized = true;
#ifdef CYTOCON_HAVE_MPI
  if (s_->launched) {
    s_->comm->barrier();  // bounded: a rank that never arrives ends the job via the watchdog
    s_->device.reset();
    s_->mpi.reset();
    MPI_Comm_free(&s_->exit_comm);
    g_finalized = true;
    MPI_Finalize();
  }
#endif
}

int run(int argc, char** argv, const std::function<int(Context&)>& body, const Options& options) {
  std::unique_ptr<Context> ctx;
  try {
    ctx = std::make_unique<Context>(init(argc, argv, options));
  } catch (const std::exception& e) {
#ifdef CYTOCON_HAVE_MPI
    int up = 0;
    MPI_Initialized(&up);
    if (up) abort_job(e.what());
#endif
    std::cerr << "cytocon: error: " << e.what() << std::endl;
    return 1;
  }
  int status = 1;
  try {
    status = body(*ctx);
  } catch (const std::exception& e) {
    if (ctx->launched()) ctx->abort(e.what());
    std::cerr << "cytocon: error: " << e.what() << std::endl;
    return 1;
  }
  if (status != 0 && ctx->launched() && ctx->size() > 1) {
    // Said now, not only when the wait below runs out: the wait can take seconds.
    std::fprintf(stderr, "cytocon: rank %d of %d: returned status %d; waiting for the other ranks to return\n",
                 ctx->rank(), ctx->size(), status);
    std::fflush(stderr);
    if (!ctx->all_ranks_return())
      ctx->abort("returned status " + std::to_string(status) + " while other ranks are still running");
  }
  ctx->finalize();
  return status;
}

bool Context::all_ranks_return() const {
#ifdef CYTOCON_HAVE_MPI
  if (s_->launched) {
    double t = s_->mpi->watchdog().timeout_s();
    return all_arrive(s_->exit_comm, t > 0 ? std::min(t, 10.0) : 10.0);
  }
#endif
  return true;
}

}  // namespace cytocon::dist

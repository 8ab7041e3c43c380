// Nothing written is replaced by accident (issue 17; docs/errors.md, "Outputs"): the one rule every
// writer follows (cytocon-train, -eval, -synth, and every program that writes a directory).
//
// An output directory may be new, empty, or hold files the writer does not write. If it holds any
// of the writer's own outputs (a finished run, an earlier evaluation, a dataset), the writer
// refuses, naming them, unless the user said --overwrite: then those outputs (and only those)
// are removed first, so no stale file of the old run is mistaken for the new one's.
#pragma once
#include <string>
#include <vector>

namespace cytocon::io {

// Creates `dir` (with parents) for a writer whose outputs are `outputs`: names relative to dir;
// a name ending in '/' is a directory of the writer's (counted when it has entries). Fails if dir
// exists and is not a directory, or holds outputs and !overwrite; the message names the
// directory, the outputs found and ends with `hint` (e.g. "choose another --out or give
// --overwrite to replace them").
// `inputs` are the files (or directories) the writer reads: an output that is one of them, or an
// output directory holding one, is refused even with --overwrite ("<output> would replace an
// input of this run (<input>): choose another --out"), before anything is removed.
void claim_output_dir(const std::string& dir, const std::vector<std::string>& outputs, bool overwrite,
                      const std::string& hint, const std::vector<std::string>& inputs = {});

// The same for a single output file: fails if `path` exists and is not a regular file, or exists
// and !overwrite. Its parent directory must exist.
void claim_output_file(const std::string& path, bool overwrite, const std::string& hint);

}  // namespace cytocon::io

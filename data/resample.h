// The bilinear resampling step of patch extraction (data/extract.h): a level region to the S×S
// patch grid through the inverse mapping of a PatchTransform. Two implementations that give the
// same bits: portable scalar code, and AVX2 (eight pixels at a time: the same IEEE operations in
// the same order, with gathers, or plain loads where eight neighbouring pixels read eight
// neighbouring region pixels, as without rotation at scale 1), chosen at run time by the CPU.
#pragma once

#include "data/extract.h"

namespace cytocon::data {

// out[i·S + j] = bilinear sample of region R (b.w × b.h floats, row-major, origin (b.x0, b.y0))
// at level position (t.ox + t.axx·j + t.axy·i, t.oy + t.ayx·j + t.ayy·i); b = footprint(t, S).
void resample_bilinear(const float* R, const Box& b, const PatchTransform& t, int S, float* out);

// The two implementations (tests compare them bit for bit); the AVX2 one only where
// resample_avx2_available().
void resample_bilinear_portable(const float* R, const Box& b, const PatchTransform& t, int S, float* out);
void resample_bilinear_avx2(const float* R, const Box& b, const PatchTransform& t, int S, float* out);
bool resample_avx2_available();

}  // namespace cytocon::data

#!/usr/bin/perl
# The CUDA emulator's source transformations (docs/cuda-emulator.md), the two pieces of CUDA
# syntax that are not C++:
#   name<<<grid, block[, smem[, stream]]>>>(args);
#     -> ::cuemu::launch([&] { name(args); }, grid, block[, smem[, stream]]);
#   (the scheduler calls the kernel once per emulated thread), and
#   extern __shared__ T name[];  ->  T* name = ::cuemu::dynamic_shared<T>();
#   __shared__ T a[N], b[M];  ->  static thread_local T a[N], b[M]; ::cuemu::poison_shared(&a, sizeof a); ...
# Line numbers are kept, and #line names the original file. Usage: rewrite_launches.pl IN OUT
use strict;
use warnings;
my ($in, $out) = @ARGV;

sub shared_decl {
  my ($type, $decls) = @_;
  my $poison = join(' ', map { /^\s*(\w+)/; "::cuemu::poison_shared(&$1, sizeof $1);" } split(/,/, $decls));
  return "static thread_local $type $decls; $poison";
}
open(my $fh, '<', $in) or die "rewrite_launches: cannot read $in: $!\n";
local $/;
my $src = <$fh>;
close($fh);
$src =~ s{((?:\w|::)+(?:<[^<>;()]*>)?)\s*<<<(.*?)>>>\s*\((.*?)\)\s*;}
         {::cuemu::launch([&] { $1($3); }, $2);}gs;
$src =~ s{extern\s+__shared__\s+([\w:]+)\s+(\w+)\s*\[\s*\]\s*;}
         {$1* $2 = ::cuemu::dynamic_shared<$1>();}g;
# Static shared arrays: undefined at the start of each block on a GPU, here filled with 0xFF bytes
# (NaN as float) by the block's first thread, so a read before any write shows.
$src =~ s{(?<!extern )__shared__\s+([\w:]+)\s+([^;]+);}{shared_decl($1, $2)}ge;
die "rewrite_launches: $in: a '<<<' was left unrewritten\n" if $src =~ /<<</;
open(my $oh, '>', $out) or die "rewrite_launches: cannot write $out: $!\n";
print $oh "#line 1 \"$in\"\n", $src;
close($oh);

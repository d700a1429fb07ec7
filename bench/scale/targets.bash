# bench/scale/targets.bash: the files a bench/scale script measures. Source it with `here`
# (bench/scale) and `build` (the build tree) set: sets `bench` (the build's scale_bench), `ours`
# (OURS, else the build's handler_rbdtier.so) and `stock` (STOCK, else Debian's handler_rbd.so),
# and prints which files the two handlers are.
stock=${STOCK:-/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so}
source "$here/../lib/build.bash"
bench=$(bench_built "$build" bench/scale/scale_bench)
ours=${OURS:-$(bench_built "$build" handler/handler_rbdtier.so)}
echo "ours: $(bench_describe "$ours")"
echo "handler_rbd: $(bench_describe "$stock")"

# bench/plot.gp: the benchmark's picture (bench/run.sh calls it with datafile and outfile).
# datafile rows: "scenario\nN conns" rps_keepalive rps_no_header p99_keepalive p99_no_header
set terminal pngcairo size 1200,900 font "sans,10"
set output outfile
set bmargin 4
set multiplot layout 2,1 title "verifyd benchmark (wrk, 127.0.0.1; bare = Pistache handler returning a constant)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set yrange [0:*]
set ylabel "requests per second"
set title "Throughput"
plot datafile using 2:xtic(1) title "Connection: keep-alive" lc rgb "#2b6cb0", \
     '' using 3 title "no Connection header" lc rgb "#ed8936"
set ylabel "p99 latency (ms, log scale)"
set title "p99 latency"
set logscale y
set yrange [0.1:*]
plot datafile using 4:xtic(1) title "Connection: keep-alive" lc rgb "#2b6cb0", \
     '' using 5 title "no Connection header" lc rgb "#ed8936"
unset multiplot

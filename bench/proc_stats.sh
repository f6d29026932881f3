# Sourced by the benchmarks: CPU and memory of a running process.

clk_tck=$(getconf CLK_TCK)
# PID: utime + stime in seconds of the process and its live children (nginx's workers).
cpu_s() {
  local p stat total=0 f
  for p in "$1" $(cat /proc/"$1"/task/*/children 2> /dev/null); do
    stat=$(cat /proc/"$p"/stat 2> /dev/null) || continue
    read -r -a f <<< "${stat##*) }"  # fields from 3 (state) on; comm may hold spaces
    total=$((total + f[11] + f[12]))
  done
  echo "scale=3; $total / $clk_tck" | bc -l
}
# PID: the process's peak resident set in MiB (VmHWM; children not counted).
peak_rss_mib() {
  awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' /proc/"$1"/status 2> /dev/null || echo '?'
}

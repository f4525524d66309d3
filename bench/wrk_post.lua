-- wrk script: POST instead of GET (wrk's default), for write endpoints such as
--   wrk -t2 -c64 -d20s --latency -s bench/wrk_post.lua http://127.0.0.1:8000/payment/add_funds/0/1
wrk.method = "POST"

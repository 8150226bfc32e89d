-- POST /form: 20 urlencoded fields (bench/servers/payloads.py FORM_FIELDS).
-- Run by hand: wrk -t1 -c50 -d5s -s bench/wrk/form.lua http://127.0.0.1:8080/form
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "field01=value+1+%26more%3D7&field02=value+2+%26more%3D14&field03=value+3+%26more%3D21&field04=value+4+%26more%3D28&field05=value+5+%26more%3D35&field06=value+6+%26more%3D42&field07=value+7+%26more%3D49&field08=value+8+%26more%3D56&field09=value+9+%26more%3D63&field10=value+10+%26more%3D70&field11=value+11+%26more%3D77&field12=value+12+%26more%3D84&field13=value+13+%26more%3D91&field14=value+14+%26more%3D98&field15=value+15+%26more%3D105&field16=value+16+%26more%3D112&field17=value+17+%26more%3D119&field18=value+18+%26more%3D126&field19=value+19+%26more%3D133&field20=value+20+%26more%3D140"

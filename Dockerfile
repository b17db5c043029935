# Payambar: one process, one SQLite file in /data (mount a volume there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    DATABASE_URL=sqlite:////data/payambar.db \
    ENVIRONMENT=production

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY app.py settings.py security.py fairpool.py guarded_http.py schema.sql Procfile ./
COPY routes ./routes
COPY store ./store
COPY broadcast ./broadcast
COPY public ./public

RUN useradd --system --uid 10001 payambar && mkdir -p /data && chown payambar /data
USER payambar
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'])"

CMD ["sh", "-c", "exec uvicorn app:app --host 0.0.0.0 --port ${PORT} --proxy-headers --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1}\" --loop uvloop --http guarded_http:HttpProtocol --timeout-keep-alive 5 --ws websockets-sansio --ws-max-size 131072 --ws-per-message-deflate false --no-access-log --log-level warning --timeout-graceful-shutdown 10"]

# take5 on the official Airflow image (Python 3.11).
FROM apache/airflow:3.3.2-python3.11

COPY requirements.txt /opt/take5/requirements.txt
# Install our pinned requirements with the image's own constraints file. Packages the
# constraints already pin (Airflow and its dependencies) are left to the constraints,
# so that the image keeps the versions Airflow was released and tested with.
RUN grep -v '^#' "${HOME}/constraints.txt" | cut -d= -f1 | tr '_' '-' | sed -e 's/.*/^&==/' > /tmp/pinned \
 && tr '_' '-' < /opt/take5/requirements.txt | grep -v -i -f /tmp/pinned > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt --constraint "${HOME}/constraints.txt"

COPY --chown=airflow:root pyproject.toml README.md /opt/take5/
COPY --chown=airflow:root plugins/ /opt/take5/plugins/
RUN pip install --no-cache-dir --no-deps /opt/take5

COPY --chown=airflow:root dags/ ${AIRFLOW_HOME}/dags/
COPY --chown=airflow:root plugins/ ${AIRFLOW_HOME}/plugins/
COPY --chown=airflow:root include/ ${AIRFLOW_HOME}/include/

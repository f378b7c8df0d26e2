// Iceberg's REST catalog test server, bound to loopback: what RESTCatalogServer (iceberg-open-api's
// test fixtures, the server of the apache/iceberg-rest-fixture image) runs, the same adapter and
// servlet, but listening on 127.0.0.1 on a port the system picks (RESTCatalogServer listens on
// every interface on a fixed port). Prints "port N" once it accepts requests.
// Its backend catalog comes from the CATALOG_* environment variables, as RESTCatalogServer's does
// (CATALOG_URI -> uri, CATALOG_IO__IMPL -> io-impl, ...), by default a JdbcCatalog.
// Run by tests/lake/rest_catalog.py: java -cp 'jars/rest-catalog/*' LoopbackRestCatalog.java
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.compression.gzip.GzipCompression;
import org.eclipse.jetty.compression.server.CompressionHandler;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class LoopbackRestCatalog {
  public static void main(String[] args) throws Exception {
    // RESTCatalogServer's own steps (package-private there, so reached by reflection)
    Method fromEnv =
        Class.forName("org.apache.iceberg.rest.RCKUtils").getDeclaredMethod("environmentCatalogConfig");
    fromEnv.setAccessible(true);
    @SuppressWarnings("unchecked")
    Map<String, String> props = new HashMap<>((Map<String, String>) fromEnv.invoke(null));
    props.putIfAbsent(CatalogProperties.CATALOG_IMPL, JdbcCatalog.class.getName());
    props.putIfAbsent("jdbc.schema-version", "V1");
    Catalog backend = CatalogUtil.buildIcebergCatalog("rest_backend", props, new Configuration());
    Class<?> contextClass = Class.forName("org.apache.iceberg.rest.RESTCatalogServer$CatalogContext");
    Constructor<?> newContext = contextClass.getDeclaredConstructor(Catalog.class, Map.class);
    newContext.setAccessible(true);
    Constructor<?> newAdapter =
        Class.forName("org.apache.iceberg.rest.RESTServerCatalogAdapter")
            .getDeclaredConstructor(contextClass);
    newAdapter.setAccessible(true);
    RESTCatalogAdapter adapter =
        (RESTCatalogAdapter) newAdapter.newInstance(newContext.newInstance(backend, props));

    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(new ServletHolder(new RESTCatalogServlet(adapter)), "/*");
    CompressionHandler compression = new CompressionHandler();
    compression.putCompression(new GzipCompression());
    context.insertHandler(compression);
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setHandler(context);
    server.start();
    System.out.println("port " + connector.getLocalPort());
    System.out.flush();
    server.join();
  }
}

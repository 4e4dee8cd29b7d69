// Reads Avro container files with the Apache Avro Java library (the reference
// implementation) and prints each record as GenericData renders it, one per line.
// Used by tests/interop/test_reference_readers.py.
import java.io.File;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;

public class ReadAvro {
    public static void main(String[] args) throws Exception {
        GenericDatumReader<Object> datum = new GenericDatumReader<Object>();
        DataFileReader<Object> reader = new DataFileReader<Object>(new File(args[0]), datum);
        try {
            for (Object record : reader) {
                System.out.println(GenericData.get().toString(record));
            }
        } finally {
            reader.close();
        }
    }
}
